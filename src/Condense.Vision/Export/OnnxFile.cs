// Writing an ONNX model to disk. Protobuf cannot serialize a message over 2 GiB, so a model whose weights are larger
// (FasterViT-5 and -6) keeps its large initializers in a side file, `{name}.data` beside the `.onnx`, as ONNX's
// external data: each tensor's bytes at a 64-byte aligned offset, named by `location`, `offset` and `length` in the
// tensor's external_data, raw_data emptied. ONNX Runtime reads such a model from its path (not from bytes), finding the
// side file next to it. Both files are written atomically, the data first.
using Google.Protobuf;
using Onnx;

namespace Condense.Vision.Export;

/// <summary>Saves ONNX models, with external data when they are too large for one protobuf message.</summary>
public static class OnnxFile
{
    /// <summary>Initializer bytes above which the weights go to a side file (protobuf's limit is 2 GiB).</summary>
    public const long DefaultExternalThreshold = 1800L << 20;

    /// <summary>Tensors smaller than this stay inside the .onnx even with external data (shapes, biases, constants).</summary>
    public const int MinExternalTensorBytes = 1024;

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/>; when its initializers exceed
    /// <paramref name="externalThreshold"/> bytes, the large ones go to <c>{path}.data</c>. Returns the bytes written
    /// (both files). With external data the model's large initializers are moved out of <paramref name="model"/> (their
    /// raw_data emptied): copying a 4 GB model first would need another 4 GB.
    /// </summary>
    public static long Save(ModelProto model, string path, long externalThreshold = DefaultExternalThreshold)
    {
        ArgumentNullException.ThrowIfNull(model);
        long weights = model.Graph.Initializer.Sum(t => (long)t.RawData.Length);
        var dataPath = path + ".data";
        if (weights <= externalThreshold)
        {
            var bytes = model.ToByteArray();
            Core.IO.AtomicFile.WriteAllBytes(path, bytes);
            if (File.Exists(dataPath)) File.Delete(dataPath);              // a stale side file of an earlier, larger export
            return bytes.Length;
        }
        var external = model;
        var location = Path.GetFileName(dataPath);
        long offset = 0;
        Core.IO.AtomicFile.Write(dataPath, stream =>
        {
            foreach (var tensor in external.Graph.Initializer)
            {
                if (tensor.RawData.Length < MinExternalTensorBytes) continue;
                long aligned = (offset + 63) / 64 * 64;
                for (; offset < aligned; offset++) stream.WriteByte(0);
                tensor.RawData.WriteTo(stream);
                tensor.DataLocation = TensorProto.Types.DataLocation.External;
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = tensor.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                offset += tensor.RawData.Length;
                tensor.RawData = ByteString.Empty;
            }
        });
        var graphBytes = external.ToByteArray();
        Core.IO.AtomicFile.WriteAllBytes(path, graphBytes);
        return graphBytes.Length + offset;
    }
}
