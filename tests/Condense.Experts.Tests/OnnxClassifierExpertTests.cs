using System.Text.Json;
using Condense.Core;
using Condense.Core.IO;
using Condense.Experts.Data;
using Condense.Experts.Experts;
using Condense.Testing;

namespace Condense.Experts.Tests;

public class OnnxClassifierExpertTests
{
    private static readonly string[] Digits = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

    private static string Config(TempFolder temp, object config) =>
        temp.Write("expert.json", JsonSerializer.SerializeToUtf8Bytes(config));

    private static ExpertContext Context() => new(ColinAtlas.Value, new SliceView(SlicePlane.Axial, 90, 5, 1, 1), null, null, 64);

    [Fact]
    public void A_user_onnx_classifier_answers_as_an_expert_on_the_original_slice()
    {
        using var temp = new TempFolder();
        string model = AssetPaths.Require("models/onnx/mnist_cnn.onnx");
        using var expert = OnnxClassifierExpert.Load(Config(temp, new { name = "DIGIT", model, labels = Digits, size = 28, channels = 1, scale = 255, top = 2 }));
        Assert.Equal("DIGIT", expert.Name);
        Assert.StartsWith("<DIGIT(args)> :", expert.ModelCard);
        var text = expert.Run("", Context()).Text;
        Assert.Matches(@"^The resulting predictions are: \d [01]\.\d\d, \d [01]\.\d\d\.$", text);
        // The un-augmented slice is classified: the user's rotation and shift do not change the answer.
        Assert.Equal(text, expert.Run("", Context() with { View = new SliceView(SlicePlane.Axial, 90) }).Text);
        var set = new ExpertSet([new AtlasExpert(), expert]);
        Assert.Contains("<DIGIT(args)>", set.ModelCards());
        Assert.Equal("DIGIT", set.ParseTrigger("Let me first trigger <DIGIT()>.")!.Name);
    }

    [Theory]
    [InlineData("missing-model", "not found")]
    [InlineData("bad-input", "input 'nope' is not an input of the model")]
    [InlineData("no-labels", "labels must list the classes")]
    [InlineData("bad-json", "not a valid expert config")]
    [InlineData("bad-name", "name '1X'")]
    public void A_bad_config_gets_a_one_line_error_naming_the_file(string damage, string expected)
    {
        using var temp = new TempFolder();
        string model = AssetPaths.Require("models/onnx/mnist_cnn.onnx");
        string path = damage switch
        {
            "missing-model" => Config(temp, new { name = "DIGIT", model = "none.onnx", labels = Digits, size = 28 }),
            "bad-input" => Config(temp, new { name = "DIGIT", model, labels = Digits, size = 28, input = "nope" }),
            "no-labels" => Config(temp, new { name = "DIGIT", model, size = 28 }),
            "bad-name" => Config(temp, new { name = "1X", model, labels = Digits, size = 28 }),
            _ => temp.Write("expert.json", "{\"name\": "u8.ToArray()),
        };
        var e = Assert.Throws<InputException>(() => OnnxClassifierExpert.Load(path));
        Assert.Contains("expert.json", e.Message);
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void Labels_that_do_not_match_the_output_fail_as_an_expert_error()
    {
        using var temp = new TempFolder();
        string model = AssetPaths.Require("models/onnx/mnist_cnn.onnx");
        using var expert = OnnxClassifierExpert.Load(Config(temp, new { name = "DIGIT", model, labels = new[] { "a", "b" }, size = 28 }));
        Assert.Contains("10 scores for 2 labels", Assert.Throws<ExpertException>(() => expert.Run("", Context())).Message);
    }
}
