using Condense.Core.IO.Gguf;

namespace Condense.Core.Tests.IO;

public sealed class GgufFileTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("condense-gguf-").FullName;

    public void Dispose() => Directory.Delete(dir, recursive: true);

    private static float[] Ramp(int n, float scale) => Enumerable.Range(0, n).Select(i => MathF.Sin(i * 0.37f) * scale).ToArray();

    private string WriteSample()
    {
        var w = new GgufWriter();
        w.Set("general.architecture", GgufValue.Of("llama"));
        w.Set("llama.block_count", GgufValue.OfUInt32(2));
        w.Set("llama.attention.layer_norm_rms_epsilon", GgufValue.OfFloat32(1e-5f));
        w.Set("tokenizer.ggml.add_bos_token", GgufValue.Of(true));
        w.Set("tokenizer.ggml.tokens", GgufValue.Of(["<unk>", "▁the", "日本"]));
        w.Set("tokenizer.ggml.scores", GgufValue.Of([0f, -1.5f, -2f]));
        w.Set("tokenizer.ggml.token_type", GgufValue.Of([2, 1, 1]));
        w.AddTensor("norm", [7], GgmlType.F32, GgmlQuantization.Encode(Ramp(7, 1), GgmlType.F32));
        w.AddTensor("half", [5, 3], GgmlType.F16, GgmlQuantization.Encode(Ramp(15, 2), GgmlType.F16));
        w.AddTensor("q8", [64, 2], GgmlType.Q8_0, GgmlQuantization.Encode(Ramp(128, 3), GgmlType.Q8_0));
        var path = Path.Combine(dir, "sample.gguf");
        w.Save(path);
        return path;
    }

    [Fact]
    public void Written_file_reads_back_with_its_metadata_and_tensors()
    {
        var file = GgufFile.Read(WriteSample());
        Assert.Equal(3u, file.Version);
        Assert.Equal("llama", file.Require("general.architecture").Value);
        Assert.Equal(2UL, file.Require("llama.block_count").Value);
        Assert.Equal((double)1e-5f, file.Require("llama.attention.layer_norm_rms_epsilon").Value);
        Assert.Equal(true, file.Require("tokenizer.ggml.add_bos_token").Value);
        Assert.Equal(new[] { "<unk>", "▁the", "日本" }, (string[])file.Require("tokenizer.ggml.tokens").Value);
        Assert.Equal(new[] { 0d, -1.5, -2 }, (double[])file.Require("tokenizer.ggml.scores").Value);
        Assert.Equal(new long[] { 2, 1, 1 }, (long[])file.Require("tokenizer.ggml.token_type").Value);
        Assert.Equal(["norm", "half", "q8"], file.Tensors.Select(t => t.Name));
        Assert.All(file.Tensors, t => Assert.Equal(0, t.Offset % 32));
        Assert.Equal(0, file.DataOffset % 32);
        Assert.Equal(Ramp(7, 1), file.ReadTensor("norm"));
        Assert.Equal(Ramp(15, 2).Select(v => (float)(Half)v), file.ReadTensor("half"));
        Assert.Equal(new long[] { 64, 2 }, file.Tensors[2].Ne);
        var q8 = file.ReadTensor("q8");
        var original = Ramp(128, 3);
        for (int i = 0; i < q8.Length; i++) Assert.True(MathF.Abs(q8[i] - original[i]) <= 3f / 127 / 2 + 0.002f, $"q8_0 value {i}");   // half a step, plus the f16 scale's rounding
    }

    [Fact]
    public void Q8_0_follows_ggml_reference_rounding()
    {
        // One block: max |x| = 2.54 -> d = 0.02; x / d rounds half away from zero (1.5 -> 2, -2.5 -> -3).
        var x = new float[32];
        x[0] = 2.54f;
        x[1] = 0.03f;
        x[2] = -0.05f;
        x[3] = -2.54f;
        var bytes = GgmlQuantization.Encode(x, GgmlType.Q8_0);
        Assert.Equal(34, bytes.Length);
        Assert.Equal((Half)(2.54f / 127f), BitConverter.ToHalf(bytes, 0));
        Assert.Equal(127, (sbyte)bytes[2]);
        Assert.Equal(2, (sbyte)bytes[3]);
        Assert.Equal(-3, (sbyte)bytes[4]);
        Assert.Equal(-127, (sbyte)bytes[5]);
        Assert.All(bytes.Skip(6), b => Assert.Equal(0, b));
        Assert.All(GgmlQuantization.Encode(new float[32], GgmlType.Q8_0), b => Assert.Equal(0, b));
        Assert.False(GgmlQuantization.Supports(GgmlType.Q8_0, 172));
    }

    [Fact]
    public void Truncated_or_corrupt_files_get_one_line_errors_naming_the_file()
    {
        var path = WriteSample();
        var bytes = File.ReadAllBytes(path);
        void Expect(byte[] content, string fragment)
        {
            var bad = Path.Combine(dir, "bad.gguf");
            File.WriteAllBytes(bad, content);
            var ex = Assert.Throws<InputException>(() => GgufFile.Read(bad));
            Assert.Contains(bad, ex.Message);
            Assert.Contains(fragment, ex.Message);
            Assert.DoesNotContain('\n', ex.Message);
        }
        Expect(bytes[..(bytes.Length - 40)], "truncated");
        Expect(bytes[..100], "truncated");
        Expect(bytes[..60], "truncated");
        Expect(bytes[..10], "not a GGUF file");
        Expect([.. "GGUX"u8, .. bytes[4..]], "not a GGUF file");
        var version = (byte[])bytes.Clone();
        version[4] = 9;
        Expect(version, "version 9");
        var count = (byte[])bytes.Clone();
        count[15] = 0x7f;
        Expect(count, "tensor_count");
        Expect(new byte[4096], "not a GGUF file");
    }
}
