// Tests for our safetensors reader/writer: bit-exact round trips, strict validation, module checkpoints, real files.
using System.Buffers.Binary;
using System.Text;
using Condense.Core.Checkpoints;
using Condense.Core.IO;
using Condense.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Condense.Core.Tests.Checkpoints;

public class SafetensorsTests
{
    // Values that exercise the float encodings: signed zero, subnormal-ish, extremes, NaN and both infinities.
    private static readonly float[] SpecialFloats =
        [0f, -0f, 1.5f, -2.25f, float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e-8f, 65504f, 3.0e38f];

    [Theory]
    [InlineData(ScalarType.Float64, "F64")]
    [InlineData(ScalarType.Float32, "F32")]
    [InlineData(ScalarType.Float16, "F16")]
    [InlineData(ScalarType.BFloat16, "BF16")]
    [InlineData(ScalarType.Int64, "I64")]
    [InlineData(ScalarType.Int32, "I32")]
    [InlineData(ScalarType.Int16, "I16")]
    [InlineData(ScalarType.Int8, "I8")]
    [InlineData(ScalarType.Byte, "U8")]
    [InlineData(ScalarType.Bool, "BOOL")]
    public void RoundTrip_IsBitExact_ForEachDType(ScalarType dtype, string expectedName)
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("one.safetensors");
        var original = SampleTensor(dtype);

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["x"] = original });
        using var loaded = Safetensors.Load(path);

        var info = Assert.Single(Safetensors.ReadHeader(path).Tensors);
        Assert.Equal(expectedName, info.DType);
        var x = loaded.Tensors["x"];
        Assert.Equal(dtype, x.dtype);
        Assert.Equal(original.shape, x.shape);
        Assert.Equal(original.bytes.ToArray(), x.bytes.ToArray());
    }

    [Fact]
    public void RoundTrip_KeepsNaNAndInfinityBitPatterns_InF32AndBF16()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("special.safetensors");
        var f32 = torch.tensor(SpecialFloats);
        var bf16 = f32.to(ScalarType.BFloat16);

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["f32"] = f32, ["bf16"] = bf16 });
        using var loaded = Safetensors.Load(path);

        Assert.Equal(SpecialFloats.Select(BitConverter.SingleToInt32Bits),
            loaded.Tensors["f32"].data<float>().ToArray().Select(BitConverter.SingleToInt32Bits));
        // bf16 is the top half of the f32 pattern; check the stored bits directly.
        var bf16Bits = MemoryMarshalShorts(loaded.Tensors["bf16"].bytes.ToArray());
        Assert.Equal(unchecked((short)0x7F80), bf16Bits[5]);              // +Inf
        Assert.Equal(unchecked((short)0xFF80), bf16Bits[6]);              // -Inf
        Assert.Equal(0x7F80, bf16Bits[4] & 0x7F80);                       // NaN: all exponent bits set...
        Assert.NotEqual(0, bf16Bits[4] & 0x007F);                         // ...and a non-zero mantissa
        Assert.Equal(unchecked((short)0x3FC0), bf16Bits[2]);              // 1.5
        Assert.Equal(bf16.bytes.ToArray(), loaded.Tensors["bf16"].bytes.ToArray());
    }

    [Fact]
    public void RoundTrip_HandlesScalarAndZeroSizeTensors()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("shapes.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["scalar"] = torch.tensor(42.5f),
            ["empty_rows"] = torch.zeros(0, 3, dtype: ScalarType.Int64),
            ["empty_cols"] = torch.zeros(4, 0),
            ["after"] = torch.arange(5, dtype: ScalarType.Int32),
        };

        Safetensors.Save(path, tensors);
        using var loaded = Safetensors.Load(path);

        Assert.Empty(loaded.Tensors["scalar"].shape);
        Assert.Equal(42.5f, loaded.Tensors["scalar"].item<float>());
        Assert.Equal(new long[] { 0, 3 }, loaded.Tensors["empty_rows"].shape);
        Assert.Equal(ScalarType.Int64, loaded.Tensors["empty_rows"].dtype);
        Assert.Equal(new long[] { 4, 0 }, loaded.Tensors["empty_cols"].shape);
        Assert.Equal(new[] { 0, 1, 2, 3, 4 }, loaded.Tensors["after"].data<int>().ToArray());
    }

    [Fact]
    public void Save_WritesNonContiguousTensorsInLogicalOrder()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("transposed.safetensors");
        var transposed = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3).t();
        Assert.False(transposed.is_contiguous());

        Safetensors.Save(path, new Dictionary<string, Tensor> { ["t"] = transposed });
        using var loaded = Safetensors.Load(path);

        Assert.Equal(new long[] { 3, 2 }, loaded.Tensors["t"].shape);
        Assert.Equal(new[] { 0f, 3f, 1f, 4f, 2f, 5f }, loaded.Tensors["t"].data<float>().ToArray());
    }

    [Fact]
    public void Save_SortsByNameWithContiguousOffsets_AndMetadataRoundTrips()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("meta.safetensors");
        var metadata = new Dictionary<string, string>
        {
            ["config"] = "{\"hidden_size\": 64, \"name\": \"t|ny\"}",
            ["empty"] = "",
            ["unicode"] = "naïve ✓ 模型",
        };
        var tensors = new Dictionary<string, Tensor>
        {
            ["zeta"] = torch.ones(3, dtype: ScalarType.Int16),
            ["alpha"] = torch.ones(2, 2, dtype: ScalarType.Float64),
            ["mid"] = torch.ones(5, dtype: ScalarType.Byte),
        };

        Safetensors.Save(path, tensors, metadata);
        var header = Safetensors.ReadHeader(path);
        using var loaded = Safetensors.Load(path);

        Assert.Equal(new[] { "alpha", "mid", "zeta" }, header.Tensors.Select(t => t.Name));
        Assert.Equal(new long[] { 0, 32, 37 }, header.Tensors.Select(t => t.Begin));
        Assert.Equal(new long[] { 32, 37, 43 }, header.Tensors.Select(t => t.End));
        Assert.Equal(0, header.DataStart % 8);
        Assert.Equal(header.DataStart + 43, new FileInfo(path).Length);
        Assert.Equal(metadata, header.Metadata);
        Assert.Equal(metadata, loaded.Metadata);
    }

    [Fact]
    public void TensorBytes_CopiesLargeTensorsInChunks()
    {
        using var scope = torch.NewDisposeScope();
        var original = torch.randn(1001, dtype: ScalarType.Float32);
        var copy = torch.empty(1001, dtype: ScalarType.Float32);
        using var buffer = new MemoryStream();

        TensorBytes.WriteFrom(buffer, original, chunkBytes: 12);
        buffer.Position = 0;
        TensorBytes.ReadInto(buffer, copy, chunkBytes: 28);

        Assert.Equal(1001 * 4, buffer.Length);
        Assert.Equal(original.bytes.ToArray(), buffer.ToArray());
        Assert.Equal(original.bytes.ToArray(), copy.bytes.ToArray());
    }

    [Fact]
    public void Save_RejectsDTypesWithoutSafetensorsName_NamingTheTensor()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("complex.safetensors");
        var tensors = new Dictionary<string, Tensor>
        {
            ["fine"] = torch.ones(2),
            ["waves"] = torch.complex(torch.ones(2), torch.zeros(2)),
        };

        var error = Assert.Throws<InputException>(() => Safetensors.Save(path, tensors));

        Assert.Contains("'waves'", error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Load_RejectsFormatDTypesTorchSharpCannotHold_ButReadHeaderListsThem()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("fp8.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.zeros(4, dtype: ScalarType.Byte) });
        EditHeader(path, h => h.Replace("\"U8\"", "\"F8_E4M3\"", StringComparison.Ordinal));

        var info = Assert.Single(Safetensors.ReadHeader(path).Tensors);
        var error = Assert.Throws<InputException>(() => Safetensors.Load(path));

        Assert.Equal("F8_E4M3", info.DType);
        Assert.Contains("'w'", error.Message, StringComparison.Ordinal);
        Assert.Contains("fp8.safetensors", error.Message, StringComparison.Ordinal);
    }

    // Each case edits the header of a valid two-tensor file (a: F32 [2,3] at [0,24], b: I64 [2] at [24,40]).
    [Theory]
    [InlineData("not-json", "not valid JSON")]
    [InlineData("array-root", "expected an object")]
    [InlineData("missing-dtype", "has no dtype")]
    [InlineData("missing-shape", "has no shape")]
    [InlineData("missing-offsets", "has no data_offsets")]
    [InlineData("dtype-number", "dtype is a JSON number")]
    [InlineData("shape-string", "shape is a JSON string")]
    [InlineData("offset-fraction", "expected integers")]
    [InlineData("three-offsets", "expected 2")]
    [InlineData("tensor-not-object", "expected an object")]
    [InlineData("unknown-dtype", "unknown dtype 'F33'")]
    [InlineData("negative-dim", "negative dimension")]
    [InlineData("size-mismatch", "needs 36")]
    [InlineData("outside-data", "outside the 40-byte data section")]
    [InlineData("overlap", "overlaps tensor 'a'")]
    [InlineData("hole", "hole before 'b'")]
    [InlineData("metadata-number", "expected a string")]
    [InlineData("metadata-array", "expected an object of strings")]
    [InlineData("duplicate-tensor", "duplicate key 'a'")]
    [InlineData("duplicate-metadata", "duplicate key 'k'")]
    [InlineData("duplicate-field", "duplicate key 'dtype'")]
    public void Load_RejectsCorruptHeaders_NamingTheFile(string corruption, string expectedProblem)
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File($"{corruption}.safetensors");
        WriteTwoTensorFile(path);
        EditHeader(path, header => Corrupt(corruption, header));

        AssertRejected(path, expectedProblem);
    }

    [Fact]
    public void Load_RejectsHeaderThatIsNotUtf8()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("latin1.safetensors");
        WriteTwoTensorFile(path);
        var bytes = File.ReadAllBytes(path);
        bytes[8 + FindAscii(bytes, "\"a\"") + 1] = 0xFF; // the tensor name 'a' becomes an invalid UTF-8 byte
        File.WriteAllBytes(path, bytes);

        AssertRejected(path, "not valid UTF-8");
    }

    [Fact]
    public void Load_RejectsFilesShorterThanTheLengthPrefix()
    {
        using var folder = new TempFolder();
        var path = folder.File("tiny.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);

        AssertRejected(path, "shorter than the 8-byte header length");
    }

    [Fact]
    public void Load_RejectsHeaderLengthBeyondTheFile()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("long-header.safetensors");
        WriteTwoTensorFile(path);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)bytes.Length);
        File.WriteAllBytes(path, bytes);

        AssertRejected(path, "runs past the end");
    }

    [Fact]
    public void Load_RejectsHeaderLengthAboveTheBound()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("huge-header.safetensors");
        WriteTwoTensorFile(path);
        var bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, ulong.MaxValue - 7);
        File.WriteAllBytes(path, bytes);

        AssertRejected(path, "exceeds the 100000000-byte limit");
    }

    [Fact]
    public void Load_RejectsTruncatedData()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("truncated.safetensors");
        WriteTwoTensorFile(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^5]);

        AssertRejected(path, "outside the 35-byte data section");
    }

    [Fact]
    public void Load_RejectsTrailingBytesNoTensorCovers()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("trailing.safetensors");
        WriteTwoTensorFile(path);
        File.AppendAllText(path, "junk");

        AssertRejected(path, "data bytes 40..44 belong to no tensor");
    }

    [Fact]
    public void Load_ReportsAMissingFileAsInputError()
    {
        using var folder = new TempFolder();
        var path = folder.File("absent.safetensors");

        AssertRejected(path, "not found");
    }

    [Fact]
    public void AtomicWrite_KeepsTheOldFileAndLeavesNoTempFile_WhenTheWriterThrows()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("model.safetensors");
        Safetensors.Save(path, new Dictionary<string, Tensor> { ["w"] = torch.arange(4, dtype: ScalarType.Float32) });
        var before = File.ReadAllBytes(path);
        Assert.Equal(new[] { "model.safetensors" }, folder.Entries());

        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[100]);
            throw new InvalidOperationException("disk full halfway");
        }));

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal(new[] { "model.safetensors" }, folder.Entries());
        using var loaded = Safetensors.Load(path);
        Assert.Equal(new[] { 0f, 1f, 2f, 3f }, loaded.Tensors["w"].data<float>().ToArray());
    }

    [Fact]
    public void ModuleCheckpoint_RoundTripsParametersAndBuffers()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("mlp.safetensors");
        torch.manual_seed(1);
        var source = SmallNet();
        source.train();
        source.call(torch.randn(16, 4)); // moves the BatchNorm running statistics off their defaults
        var metadata = new Dictionary<string, string> { [ModuleCheckpoint.ConfigKey] = "{\"hidden\": 8}" };

        source.SaveSafetensors(path, metadata);
        torch.manual_seed(2);
        var target = SmallNet();
        var loadedMetadata = target.LoadSafetensors(path);

        Assert.Equal(metadata, loadedMetadata);
        var header = Safetensors.ReadHeader(path);
        Assert.Contains(header.Tensors, t => t.Name == "0.weight" && t.Shape.SequenceEqual(new long[] { 8, 4 }));
        Assert.Contains(header.Tensors, t => t.Name == "2.running_mean");
        var expected = source.state_dict();
        var actual = target.state_dict();
        Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
        foreach (var (name, tensor) in expected)
            Assert.True(SameValues(tensor, actual[name]), $"'{name}' differs after loading");
        source.eval();
        target.eval();
        var input = torch.randn(3, 4);
        Assert.True(SameValues(source.call(input), target.call(input)));
    }

    [Fact]
    public void ModuleCheckpoint_ConvertsDTypeToTheModules()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("half.safetensors");
        var weights = torch.tensor(new[] { 0.5f, -1.25f, 2f, 3.75f, 0f, 1f, -0.5f, 8f }).reshape(2, 4);
        Safetensors.Save(path, new Dictionary<string, Tensor>
        {
            ["weight"] = weights.to(ScalarType.Float16),
            ["bias"] = torch.tensor(new[] { 1f, -1f }).to(ScalarType.BFloat16),
        });
        var linear = torch.nn.Linear(4, 2);

        linear.LoadSafetensors(path);

        Assert.Equal(ScalarType.Float32, linear.weight!.dtype);
        Assert.Equal(weights.data<float>().ToArray(), linear.weight.data<float>().ToArray());
        Assert.Equal(new[] { 1f, -1f }, linear.bias!.data<float>().ToArray());
    }

    [Fact]
    public void ModuleCheckpoint_StrictLoad_ReportsMissingKeys()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("linear-only.safetensors");
        torch.nn.Sequential(("0", torch.nn.Linear(4, 8))).SaveSafetensors(path);
        var net = SmallNet();

        var error = Assert.Throws<InputException>(() => net.LoadSafetensors(path));

        Assert.Contains("linear-only.safetensors", error.Message, StringComparison.Ordinal);
        Assert.Contains("missing", error.Message, StringComparison.Ordinal);
        Assert.Contains("1.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("2.running_mean", error.Message, StringComparison.Ordinal);
        Assert.Contains(", ...", error.Message, StringComparison.Ordinal); // 7 missing, only 5 named
        Assert.DoesNotContain("unexpected", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModuleCheckpoint_StrictLoad_ReportsUnexpectedKeys_NonStrictLoadsTheRest()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("bigger.safetensors");
        torch.manual_seed(3);
        var big = SmallNet();
        big.SaveSafetensors(path);
        var small = torch.nn.Sequential(("0", torch.nn.Linear(4, 8)));

        var error = Assert.Throws<InputException>(() => small.LoadSafetensors(path));
        small.LoadSafetensors(path, strict: false);

        Assert.Contains("unexpected", error.Message, StringComparison.Ordinal);
        Assert.Contains("1.weight", error.Message, StringComparison.Ordinal);
        Assert.Contains("bigger.safetensors", error.Message, StringComparison.Ordinal);
        Assert.True(SameValues(small.state_dict()["0.weight"], big.state_dict()["0.weight"]));
    }

    [Fact]
    public void ModuleCheckpoint_ShapeMismatch_LeavesTheModuleUnchanged()
    {
        using var scope = torch.NewDisposeScope();
        using var folder = new TempFolder();
        var path = folder.File("wide.safetensors");
        torch.nn.Sequential(("0", torch.nn.Linear(4, 8)), ("1", torch.nn.Linear(8, 3))).SaveSafetensors(path);
        var narrow = torch.nn.Sequential(("0", torch.nn.Linear(4, 8)), ("1", torch.nn.Linear(8, 2)));
        var before = narrow.state_dict()["0.weight"].clone();

        var error = Assert.Throws<InputException>(() => narrow.LoadSafetensors(path));

        Assert.Contains("'1.weight' has shape [3, 8]", error.Message, StringComparison.Ordinal);
        Assert.True(SameValues(narrow.state_dict()["0.weight"], before));
    }

    [Fact]
    public void ReadsTheRealStories260KCheckpoint()
    {
        using var scope = torch.NewDisposeScope();
        var path = AssetPaths.Require("models/hf/stories260K/model.safetensors");

        var header = Safetensors.ReadHeader(path);
        using var content = Safetensors.Load(path);

        // 5 layers x 9 tensors + embeddings + final norm (the head is tied to the embeddings).
        Assert.Equal(47, header.Tensors.Count);
        Assert.All(header.Tensors, t => Assert.Equal("F32", t.DType));
        var embed = header.Tensors.Single(t => t.Name == "model.embed_tokens.weight");
        Assert.Equal(new long[] { 512, 64 }, embed.Shape);
        Assert.Equal(new long[] { 64, 172 },
            header.Tensors.Single(t => t.Name == "model.layers.4.mlp.down_proj.weight").Shape);
        Assert.Equal(new long[] { 32, 64 },
            header.Tensors.Single(t => t.Name == "model.layers.0.self_attn.k_proj.weight").Shape);
        Assert.Equal("pt", header.Metadata["format"]);
        foreach (var (name, tensor) in content.Tensors)
            Assert.True(torch.isfinite(tensor).all().item<bool>(), $"'{name}' has non-finite values");
        // First values of the embedding table, read independently with Python's struct module.
        var first = content.Tensors["model.embed_tokens.weight"].flatten()[..4].data<float>().ToArray();
        Assert.Equal(new[] { -0.29474878f, 0.5618956f, 0.17542253f, 0.3405736f }, first);
    }

    [Fact]
    public void ReadsTheRealResNet8Checkpoint_WithKerasMetadata()
    {
        using var scope = torch.NewDisposeScope();
        var path = AssetPaths.Require("models/mlperf_tiny/resnet8_cifar10_mlperf_tiny.safetensors");

        using var content = Safetensors.Load(path);

        Assert.Equal(48, content.Tensors.Count);
        Assert.StartsWith("{\"class_name\": \"Functional\"", content.Metadata["keras_model_config"],
            StringComparison.Ordinal);
        Assert.Equal(new long[] { 3, 3, 3, 16 }, content.Tensors["conv2d/conv2d/kernel"].shape);
        Assert.Equal(new long[] { 64, 10 }, content.Tensors["dense/dense/kernel"].shape);
        var variance = content.Tensors["batch_normalization/batch_normalization/moving_variance"];
        Assert.True((variance > 0).all().item<bool>());
        Assert.True(torch.isfinite(content.Tensors["dense/dense/kernel"]).all().item<bool>());
    }

    private static torch.nn.Module<Tensor, Tensor> SmallNet() =>
        torch.nn.Sequential(
            ("0", torch.nn.Linear(4, 8)),
            ("1", torch.nn.LayerNorm(8)),
            ("2", torch.nn.BatchNorm1d(8)));

    private static Tensor SampleTensor(ScalarType dtype) => dtype switch
    {
        ScalarType.Float64 or ScalarType.Float32 or ScalarType.Float16 or ScalarType.BFloat16 =>
            torch.tensor(SpecialFloats).reshape(2, 5).to(dtype),
        ScalarType.Bool => torch.tensor(new[] { true, false, false, true, true, false }).reshape(3, 2),
        ScalarType.Byte => torch.tensor(new byte[] { 0, 1, 127, 128, 255, 42 }).reshape(2, 3),
        ScalarType.Int8 => torch.tensor(new sbyte[] { -128, -1, 0, 1, 127, 42 }).reshape(2, 3),
        ScalarType.Int16 => torch.tensor(new short[] { short.MinValue, -1, 0, 1, short.MaxValue, 42 }).reshape(2, 3),
        ScalarType.Int32 => torch.tensor(new[] { int.MinValue, -1, 0, 1, int.MaxValue, 42 }).reshape(2, 3),
        ScalarType.Int64 => torch.tensor(new[] { long.MinValue, -1, 0, 1, long.MaxValue, 42 }).reshape(2, 3),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    private static void WriteTwoTensorFile(string path) =>
        Safetensors.Save(path, new Dictionary<string, Tensor>
        {
            ["a"] = torch.arange(6, dtype: ScalarType.Float32).reshape(2, 3),
            ["b"] = torch.tensor(new long[] { 7, -7 }),
        }, new Dictionary<string, string> { ["k"] = "v" });

    private static string Corrupt(string corruption, string header)
    {
        const string A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}";
        const string B = "\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[24,40]}";
        Assert.Contains(A, header, StringComparison.Ordinal);
        Assert.Contains(B, header, StringComparison.Ordinal);
        string Swap(string from, string to) => header.Replace(from, to, StringComparison.Ordinal);
        return corruption switch
        {
            "not-json" => Swap(B + "}", B),
            "array-root" => "[" + header.Trim() + "]",
            "missing-dtype" => Swap(A, "\"a\":{\"shape\":[2,3],\"data_offsets\":[0,24]}"),
            "missing-shape" => Swap(A, "\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,24]}"),
            "missing-offsets" => Swap(A, "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3]}"),
            "dtype-number" => Swap("\"dtype\":\"F32\"", "\"dtype\":32"),
            "shape-string" => Swap("\"shape\":[2,3]", "\"shape\":\"2x3\""),
            "offset-fraction" => Swap("[0,24]", "[0.0,24]"),
            "three-offsets" => Swap("[0,24]", "[0,12,24]"),
            "tensor-not-object" => Swap(A, "\"a\":[0,24]"),
            "unknown-dtype" => Swap("\"F32\"", "\"F33\""),
            "negative-dim" => Swap("[2,3]", "[-2,-3]"),
            "size-mismatch" => Swap("[2,3]", "[3,3]"),
            "outside-data" => Swap(B, "\"b\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[24,48]}"),
            "overlap" => Swap("[24,40]", "[16,32]"),
            "hole" => Swap(A, "\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"),
            "metadata-number" => Swap("\"k\":\"v\"", "\"k\":1"),
            "metadata-array" => Swap("{\"k\":\"v\"}", "[\"k\",\"v\"]"),
            "duplicate-tensor" => Swap(B, B + "," + A),
            "duplicate-metadata" => Swap("\"k\":\"v\"", "\"k\":\"v\",\"k\":\"w\""),
            "duplicate-field" => Swap("\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"dtype\":\"F32\""),
            _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
        };
    }

    /// <summary>Rewrites a file's JSON header through <paramref name="edit"/>, keeping its data bytes.</summary>
    private static void EditHeader(string path, Func<string, string> edit)
    {
        var bytes = File.ReadAllBytes(path);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetBytes(edit(Encoding.UTF8.GetString(bytes, 8, length)));
        var edited = new byte[8 + header.Length + (bytes.Length - 8 - length)];
        BinaryPrimitives.WriteUInt64LittleEndian(edited, (ulong)header.Length);
        header.CopyTo(edited, 8);
        bytes.AsSpan(8 + length).CopyTo(edited.AsSpan(8 + header.Length));
        File.WriteAllBytes(path, edited);
    }

    private static void AssertRejected(string path, string expectedProblem)
    {
        var error = Assert.Throws<InputException>(() => Safetensors.Load(path));
        Assert.Contains(Path.GetFileName(path), error.Message, StringComparison.Ordinal);
        Assert.Contains(expectedProblem, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        if (File.Exists(path))
        {
            var headerError = Assert.Throws<InputException>(() => Safetensors.ReadHeader(path));
            Assert.Equal(error.Message, headerError.Message);
        }
    }

    private static bool SameValues(Tensor a, Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();

    private static int FindAscii(byte[] bytes, string text) =>
        bytes.AsSpan(8).IndexOf(Encoding.ASCII.GetBytes(text));

    private static short[] MemoryMarshalShorts(byte[] bytes) =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, short>(bytes).ToArray();
}
