using Condense.Core.IO;
using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>`condense export` (GGUF) and `condense inspect` on real files, and their bad-input errors.</summary>
public sealed class ExportCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-export-cli-");

    public void Dispose() => _temp.Dispose();

    private static void AssertOneLineError(CliProcess.Result r, params string[] fragments)
    {
        Assert.Equal(2, r.ExitCode);
        var lines = r.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        foreach (var f in fragments) Assert.Contains(f, line, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_writes_gguf_refuses_to_overwrite_and_inspect_reads_it()
    {
        var model = AssetPaths.Require("models/llama2c/stories260K.bin");
        var file = Path.Combine(_temp.Path, "s.gguf");
        var r = CliProcess.Run("export", model, "--format", "gguf", "--out", file, "--dtype", "q8_0", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        Assert.Equal(new FileInfo(file).Length, json.GetProperty("bytes").GetInt64());
        Assert.Equal(32, json.GetProperty("tensor_types").GetProperty("q8_0").GetInt32());
        Assert.Equal(5, json.GetProperty("layers").GetInt32());

        var before = File.ReadAllBytes(file);
        AssertOneLineError(CliProcess.Run("export", model, "--out", file), file, "--force");
        Assert.Equal(before, File.ReadAllBytes(file));
        Assert.Equal(0, CliProcess.Run("export", model, "--out", file, "--force").ExitCode);
        Assert.NotEqual(before.Length, new FileInfo(file).Length);   // now f32
        Assert.Empty(Directory.GetFiles(_temp.Path, ".*.tmp"));

        var inspect = CliProcess.Run("inspect", file, "--json");
        Assert.True(inspect.ExitCode == 0, inspect.Stderr);
        var info = inspect.Json();
        Assert.Equal("gguf", info.GetProperty("format").GetString());
        Assert.Equal("llama", info.GetProperty("architecture").GetString());
        Assert.Equal(48, info.GetProperty("tensors").GetArrayLength());
        Assert.Equal("512", info.GetProperty("metadata").GetProperty("llama.context_length").GetString());
        var human = CliProcess.Run("inspect", file);
        Assert.Contains("blk.0.attn_q.weight", human.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Export_writes_a_distilled_student_as_onnx_that_inspect_reads()
    {
        var run = Path.Combine(_temp.Path, "run");
        var d = CliProcess.Run("distill", "--teachers", "resnet8,hog", "--steps", "4", "--progress", "none", "--run-dir", run,
            "--set", "data.train_images=64", "--set", "data.test_images=32", "--set", "train.batch_size=16",
            "--set", "student.depth=2", "--set", "student.embed_dim=32", "--set", "eval.probe_steps=5",
            "--set", $"train.cache_dir={Path.Combine(_temp.Path, "cache")}");
        Assert.True(d.ExitCode == 0, d.Stderr);
        var file = Path.Combine(_temp.Path, "student.onnx");
        var r = CliProcess.Run("export", run, "--out", file, "--json");   // a run folder means --format onnx
        Assert.True(r.ExitCode == 0, r.Stderr);
        var json = r.Json();
        Assert.Equal("onnx", json.GetProperty("format").GetString());
        Assert.True(json.GetProperty("dynamic_resolution").GetBoolean());
        Assert.InRange(json.GetProperty("max_abs_diff").GetDouble(), 0, 1e-4);
        Assert.Equal(15, json.GetProperty("agreement").GetArrayLength());
        AssertOneLineError(CliProcess.Run("export", run, "--out", file), file, "--force");
        AssertOneLineError(CliProcess.Run("export", run, "--out", Path.Combine(_temp.Path, "b.onnx"), "--resolution", "30"), "--resolution", "patch size 4");
        AssertOneLineError(CliProcess.Run("export", run, "--out", Path.Combine(_temp.Path, "b.onnx"), "--resolution", "3x"), "--resolution '3x'");
        AssertOneLineError(CliProcess.Run("export", run, "--format", "onnx", "--dtype", "f16", "--out", Path.Combine(_temp.Path, "b.onnx")), "--dtype", "f32 only");

        var inspect = CliProcess.Run("inspect", file, "--json");
        Assert.True(inspect.ExitCode == 0, inspect.Stderr);
        var info = inspect.Json();
        Assert.Equal("onnx", info.GetProperty("format").GetString());
        Assert.Equal("run", info.GetProperty("architecture").GetString());
        Assert.Equal("(N, 3, H, W)", info.GetProperty("metadata").GetProperty("input.images").GetString());
        Assert.Equal("(N, 64, h, w)", info.GetProperty("metadata").GetProperty("output.resnet8.features").GetString());
        Assert.Contains("ai.onnx:17", info.GetProperty("metadata").GetProperty("onnx.opsets").GetString(), StringComparison.Ordinal);
        Assert.Equal(json.GetProperty("parameters").GetInt64() + 0, info.GetProperty("parameters").GetInt64() - Constants(info));

        var truncated = Path.Combine(_temp.Path, "truncated.onnx");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        AssertOneLineError(CliProcess.Run("inspect", truncated), truncated, "not an ONNX model");
    }

    // Initializers that are not parameters: int64 shape constants, float scalars, precomputed buffers (CLIP mean/std).
    private static long Constants(System.Text.Json.JsonElement info) => info.GetProperty("tensors").EnumerateArray()
        .Where(t => t.GetProperty("name").GetString()!.StartsWith("const_", StringComparison.Ordinal)
            || t.GetProperty("name").GetString()!.Contains("input_conditioner", StringComparison.Ordinal))
        .Sum(t => t.GetProperty("shape").EnumerateArray().Aggregate(1L, (n, d) => n * d.GetInt64()));

    [Fact]
    public void Inspect_reads_llama2c_and_safetensors_files()
    {
        var l2c = CliProcess.Run("inspect", AssetPaths.Require("models/llama2c/stories260K.bin"), "--json").Json();
        Assert.Equal("llama2c", l2c.GetProperty("format").GetString());
        Assert.Equal("64", l2c.GetProperty("metadata").GetProperty("dim").GetString());
        var st = CliProcess.Run("inspect", AssetPaths.Require("models/hf/stories260K"), "--json").Json();
        Assert.Equal("safetensors", st.GetProperty("format").GetString());
        Assert.Equal(260032, st.GetProperty("parameters").GetInt64());
    }

    [Fact]
    public void Bad_input_gets_one_line_errors()
    {
        var model = AssetPaths.Require("models/llama2c/stories260K.bin");
        var file = Path.Combine(_temp.Path, "x.gguf");
        AssertOneLineError(CliProcess.Run("export", model, "--out", file, "--dtype", "q4"), "--dtype", "q4");
        AssertOneLineError(CliProcess.Run("export", model, "--out", file, "--format", "onnx"), "ONNX");
        AssertOneLineError(CliProcess.Run("export", model, "--out", file, "--format", "tflite"), "--format");
        AssertOneLineError(CliProcess.Run("export", Path.Combine(_temp.Path, "missing.bin"), "--out", file), "missing.bin");
        Assert.False(File.Exists(file));

        Assert.Equal(0, CliProcess.Run("export", model, "--out", file).ExitCode);
        var truncated = Path.Combine(_temp.Path, "t.gguf");
        File.WriteAllBytes(truncated, File.ReadAllBytes(file)[..(int)(new FileInfo(file).Length - 1000)]);
        AssertOneLineError(CliProcess.Run("inspect", truncated), truncated, "truncated");
        var text = Path.Combine(_temp.Path, "notes.txt");
        File.WriteAllText(text, "not a model");
        AssertOneLineError(CliProcess.Run("inspect", text), text);
    }
}
