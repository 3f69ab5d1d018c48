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
