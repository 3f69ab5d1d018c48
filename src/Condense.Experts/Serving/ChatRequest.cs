// The OpenAI chat-completions request as the server reads it: the last user message's text and image (a data URL in
// an image_url content part), plus Condense's own "condense" object for what an expert needs that an image cannot
// carry: which slice of the volume the image is and where the user marked it. Every malformed field gets an
// InputException naming it (the server answers 400 with that message).
using System.Globalization;
using System.Text.Json;
using Condense.Core;
using Condense.Experts.Data;

namespace Condense.Experts.Serving;

/// <summary>A parsed chat request.</summary>
/// <param name="Question">The last user message's text.</param>
/// <param name="ImageUrl">Its image data URL, if any.</param>
/// <param name="View">The slice the image is (default: axial 90).</param>
/// <param name="Point">Marked voxel "i,j,k", if any.</param>
/// <param name="Area">Marked square's centre voxel "i,j,k", if any.</param>
/// <param name="UseExperts">Offer the experts (default true).</param>
/// <param name="Stream">Server-sent events.</param>
/// <param name="Model">The model name asked for.</param>
public sealed record ChatRequest(string Question, string? ImageUrl, SliceView View, string? Point, string? Area, bool UseExperts, bool Stream, string Model)
{
    /// <summary>Parses a request body.</summary>
    public static ChatRequest Parse(string body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            throw new InputException($"request body is not valid JSON: {e.Message.Split('\n')[0]}");
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new InputException("request body must be a JSON object");
            if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
                throw new InputException("messages must be a non-empty array");
            var last = messages[messages.GetArrayLength() - 1];
            if (last.ValueKind != JsonValueKind.Object || !last.TryGetProperty("role", out var role) || role.GetString() != "user")
                throw new InputException("the last message must have role 'user'");
            if (!last.TryGetProperty("content", out var content)) throw new InputException("messages[-1].content is missing");
            string? text = null, image = null;
            if (content.ValueKind == JsonValueKind.String) text = content.GetString();
            else if (content.ValueKind == JsonValueKind.Array)
            {
                int n = 0;
                foreach (var part in content.EnumerateArray())
                {
                    string where = $"messages[-1].content[{n++}]";
                    string type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
                        ? t.GetString()! : throw new InputException($"{where}.type is missing");
                    if (type == "text")
                        text = (text is null ? "" : text + " ") + (part.TryGetProperty("text", out var tx) && tx.ValueKind == JsonValueKind.String ? tx.GetString() : throw new InputException($"{where}.text is missing"));
                    else if (type == "image_url")
                    {
                        if (image is not null) throw new InputException("only one image per message is read");
                        image = part.TryGetProperty("image_url", out var iu) && iu.ValueKind == JsonValueKind.Object && iu.TryGetProperty("url", out var url) && url.ValueKind == JsonValueKind.String
                            ? url.GetString() : throw new InputException($"{where}.image_url.url is missing");
                    }
                    else throw new InputException($"{where}.type '{type}' is not 'text' or 'image_url'");
                }
            }
            else throw new InputException("messages[-1].content must be a string or an array of parts");
            if (string.IsNullOrWhiteSpace(text)) throw new InputException("the last user message has no text");

            var view = new SliceView(SlicePlane.Axial, 90);
            string? point = null, area = null;
            bool experts = true;
            if (root.TryGetProperty("condense", out var c))
            {
                if (c.ValueKind != JsonValueKind.Object) throw new InputException("condense must be an object");
                var plane = view.Plane;
                if (c.TryGetProperty("plane", out var p))
                    plane = p.ValueKind == JsonValueKind.String && Enum.TryParse<SlicePlane>(p.GetString(), ignoreCase: true, out var parsed) && Enum.IsDefined(parsed)
                        ? parsed : throw new InputException($"condense.plane '{p}' must be axial, coronal or sagittal");
                int index = view.Index;
                if (c.TryGetProperty("slice", out var s))
                    index = s.ValueKind == JsonValueKind.Number && s.TryGetInt32(out var i) ? i : throw new InputException($"condense.slice '{s}' must be an integer");
                view = new SliceView(plane, index);
                point = Voxel(c, "point");
                area = Voxel(c, "area");
                if (c.TryGetProperty("experts", out var e))
                    experts = e.ValueKind is JsonValueKind.True or JsonValueKind.False ? e.GetBoolean() : throw new InputException("condense.experts must be true or false");
            }
            bool stream = root.TryGetProperty("stream", out var st) && st.ValueKind == JsonValueKind.True;
            string model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : VlmServer.ModelId;
            return new ChatRequest(text.Trim(), image, view, point, area, experts, stream, model);
        }
    }

    private static string? Voxel(JsonElement c, string name)
    {
        if (!c.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null) return null;
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() != 3 || v.EnumerateArray().Any(x => x.ValueKind != JsonValueKind.Number || !x.TryGetInt32(out _)))
            throw new InputException($"condense.{name} must be three integers [i, j, k]");
        return string.Join(",", v.EnumerateArray().Select(x => x.GetInt32().ToString(CultureInfo.InvariantCulture)));
    }
}
