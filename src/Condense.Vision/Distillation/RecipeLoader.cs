using System.Globalization;
using System.Text.RegularExpressions;
using Condense.Core;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace Condense.Vision.Distillation;

/// <summary>
/// Loads a <see cref="DistillRecipe"/> from YAML and applies <c>key.path=value</c> overrides (nanoGPT-style
/// configurator, strict): an unknown key in the file or in an override, or a value of the wrong type, is an
/// <see cref="InputException"/> naming the key (and the file and line).
/// </summary>
public static partial class RecipeLoader
{
    // the recipe's read-only collections are filled as their mutable implementations
    private static readonly IDeserializer Deserializer = new DeserializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .WithTypeMapping<IReadOnlyList<TeacherRecipe>, List<TeacherRecipe>>()
        .WithTypeMapping<IReadOnlyList<int>, List<int>>()
        .WithTypeMapping<IReadOnlyDictionary<string, string>, Dictionary<string, string>>()
        .Build();

    private static readonly ISerializer Serializer = new SerializerBuilder()
        .WithNamingConvention(UnderscoredNamingConvention.Instance)
        .ConfigureDefaultValuesHandling(DefaultValuesHandling.Preserve)
        .Build();

    /// <summary>Reads <paramref name="path"/> (or the built-in defaults when null) and applies overrides.</summary>
    public static DistillRecipe Load(string? path, IEnumerable<string>? overrides = null)
    {
        if (path is not null && !File.Exists(path)) throw new InputException($"recipe not found: {path}");
        var text = path is null ? Serializer.Serialize(new DistillRecipe()) : File.ReadAllText(path);
        return Parse(text, path ?? "<defaults>", overrides);
    }

    /// <summary>Parses recipe YAML held in memory (<paramref name="source"/> names it in errors).</summary>
    public static DistillRecipe Parse(string text, string source, IEnumerable<string>? overrides = null)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new InputException($"{source}:{ex.Start.Line}: invalid YAML: {FirstLine(ex.Message)}");
        }
        catch (InvalidOperationException ex)
        {
            // YamlDotNet's scanner throws this on some malformed plain scalars (e.g. an unclosed '[' before a line
            // break) instead of a YamlException.
            throw new InputException($"{source}: invalid YAML ({FirstLine(ex.Message)})");
        }
        // An empty file or a top-level list would otherwise read as the empty recipe and fail later as "teachers = 0".
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
            throw new InputException($"{source}: the recipe is empty (a recipe is a YAML mapping with data, student, teachers, loss, train and eval sections)");
        if (stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new InputException($"{source}:{stream.Documents[0].RootNode.Start.Line}: a recipe is a YAML mapping (data, student, teachers, ...), " +
                $"not a {(stream.Documents[0].RootNode is YamlSequenceNode ? "list" : "single value")}");
        foreach (var o in overrides ?? []) ApplyOverride(root, o);
        RequireValues(root, "", source);

        var writer = new StringWriter();
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var merged = writer.ToString();
        try
        {
            var recipe = Deserializer.Deserialize<DistillRecipe>(merged) ?? new DistillRecipe();
            Validate(recipe, source);
            return recipe;
        }
        catch (YamlException ex)
        {
            var message = FirstLine(ex.InnerException?.Message ?? ex.Message);
            var unknown = UnknownProperty().Match(message);
            if (!unknown.Success && KeyAt(merged, ex.Start) is string badKey)
                message = $"{badKey}: {message}";
            if (unknown.Success) message = $"unknown key '{unknown.Groups[1].Value}' in {unknown.Groups[2].Value.Replace("Recipe", "", StringComparison.Ordinal).ToLowerInvariant() switch { "distill" => "the recipe", var s => $"'{s}'" }}";
            throw new InputException($"{source}: {message}");
        }
    }

    /// <summary>
    /// The default recipe: configs/radio/default.yaml of the checkout when there is one (so edits take effect),
    /// else the copy embedded in this assembly.
    /// </summary>
    public static DistillRecipe LoadDefault(IEnumerable<string>? overrides = null)
    {
        var root = Condense.Core.IO.AssetPaths.RepositoryRoot();
        var file = root is null ? null : Path.Combine(root, "configs", "radio", "default.yaml");
        if (file is not null && File.Exists(file)) return Load(file, overrides);
        using var stream = typeof(RecipeLoader).Assembly.GetManifestResourceStream("Condense.Vision.configs.radio.default.yaml")
            ?? throw new InvalidOperationException("the default recipe is not embedded in Condense.Vision");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd(), "<embedded default recipe>", overrides);
    }

    /// <summary>The recipe as YAML (for the run folder and reports).</summary>
    public static string ToYaml(DistillRecipe recipe) => Serializer.Serialize(recipe);

    /// <summary>
    /// The recipe's fields that decide what a run trains, flattened (<c>train.seed</c>, <c>teachers[1].kind</c>, ...):
    /// everything except the name, the step count (a run may be extended), checkpointing, caching and evaluation.
    /// </summary>
    public static Dictionary<string, string> TrainingFields(DistillRecipe recipe)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(ToYaml(recipe)));
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        Flatten(stream.Documents[0].RootNode, "");
        return fields;

        void Flatten(YamlNode node, string path)
        {
            if (path is "name" or "train.steps" or "train.checkpoint_every" or "train.cache" or "train.cache_dir" or "eval") return;
            switch (node)
            {
                case YamlMappingNode map:
                    foreach (var (k, v) in map.Children)
                        Flatten(v, path.Length == 0 ? ((YamlScalarNode)k).Value! : $"{path}.{((YamlScalarNode)k).Value}");
                    break;
                case YamlSequenceNode seq:
                    if (seq.Children.All(c => c is YamlScalarNode)) fields[path] = $"[{string.Join(",", seq.Children.Select(c => ((YamlScalarNode)c).Value))}]";
                    else for (int i = 0; i < seq.Children.Count; i++) Flatten(seq.Children[i], $"{path}[{i}]");
                    break;
                case YamlScalarNode scalar:
                    fields[path] = scalar.Value ?? "";
                    break;
            }
        }
    }

    /// <summary>Applies one <c>a.b[2].c=value</c> override to the YAML tree; the key must exist in the schema.</summary>
    private static void ApplyOverride(YamlMappingNode root, string assignment)
    {
        int eq = assignment.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0) throw new InputException($"override '{assignment}' is not key=value");
        var key = assignment[..eq].Trim();
        var value = assignment[(eq + 1)..].Trim();
        var parts = key.Split('.');
        YamlNode node = root;
        for (int p = 0; p < parts.Length; p++)
        {
            var m = PathPart().Match(parts[p]);
            if (!m.Success) throw new InputException($"override key '{key}': bad segment '{parts[p]}'");
            var name = m.Groups[1].Value;
            int? index = m.Groups[2].Success ? int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture) : null;
            bool last = p == parts.Length - 1;
            if (node is not YamlMappingNode map) throw new InputException($"override key '{key}': '{name}' is not inside a section");
            var k = new YamlScalarNode(name);
            if (last && index is null)
            {
                map.Children[k] = ParseValue(value);
                return;
            }
            if (!map.Children.TryGetValue(k, out var child))
            {
                if (index is not null) throw new InputException($"override key '{key}': there is no list '{name}'");
                child = new YamlMappingNode();
                map.Children[k] = child;
            }
            if (index is not null)
            {
                if (child is not YamlSequenceNode seq || index >= seq.Children.Count)
                    throw new InputException($"override key '{key}': '{name}' has no item {index}");
                if (last)
                {
                    seq.Children[index.Value] = ParseValue(value);
                    return;
                }
                child = seq.Children[index.Value];
            }
            node = child;
        }
    }

    private static YamlNode ParseValue(string value)
    {
        var s = new YamlStream();
        s.Load(new StringReader($"v: {value}"));
        return ((YamlMappingNode)s.Documents[0].RootNode).Children[new YamlScalarNode("v")];
    }

    private static void Validate(DistillRecipe r, string source)
    {
        void Require(bool ok, string key, object? value, string rule)
        {
            if (!ok) throw new InputException($"{source}: {key} = {Convert.ToString(value, CultureInfo.InvariantCulture)}: {rule}");
        }
        Require(r.Data.Dataset is "fashion-mnist" or "mnist", "data.dataset", r.Data.Dataset, "must be fashion-mnist or mnist");
        Require(r.Train.Steps > 0, "train.steps", r.Train.Steps, "must be positive");
        Require(r.Train.BatchSize > 0, "train.batch_size", r.Train.BatchSize, "must be positive");
        Require(r.Data.TrainImages > 0, "data.train_images", r.Data.TrainImages, "must be positive");
        Require(r.Data.TestImages > 0, "data.test_images", r.Data.TestImages, "must be positive");
        Require(Models.ModelRegistry.Contains(r.Student.Model), "student.model", r.Student.Model,
            $"unknown student (available: {string.Join(", ", Models.ModelRegistry.Names)})");
        Require(r.Student.PatchSize > 0, "student.patch_size", r.Student.PatchSize, "must be positive");
        Require(r.Data.Resolution > 0 && r.Data.Resolution % r.Student.PatchSize == 0, "data.resolution", r.Data.Resolution,
            $"must be a positive multiple of the patch size {r.Student.PatchSize}");
        Require(r.Student.MaxResolution >= r.Data.Resolution && r.Student.MaxResolution % r.Student.PatchSize == 0,
            "student.max_resolution", r.Student.MaxResolution, "must be a multiple of the patch size and at least data.resolution");
        foreach (var res in r.Data.TrainResolutions)
            Require(res > 0 && res % r.Student.PatchSize == 0 && res <= r.Student.MaxResolution, "data.train_resolutions", res,
                $"must be a positive multiple of the patch size {r.Student.PatchSize}, at most student.max_resolution");
        Require(r.Data.TrainResolutions.Count <= r.Train.BatchSize, "data.train_resolutions", r.Data.TrainResolutions.Count, "more partitions than images per batch");
        Require(r.Teachers.Count > 0, "teachers", r.Teachers.Count, "at least one teacher is needed");
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < r.Teachers.Count; i++)
        {
            var t = r.Teachers[i];
            Require(t.Name.Length > 0 && ValidName().IsMatch(t.Name), $"teachers[{i}].name", t.Name, "must be a non-empty identifier");
            Require(names.Add(t.Name), $"teachers[{i}].name", t.Name, "is used twice");
            Require(t.Kind.Length > 0, $"teachers[{i}].kind", t.Kind, "must name a teacher kind");
            foreach (var res in t.Resolutions)
                Require(r.Data.Partitions().Contains(res),
                    $"teachers[{i}].resolutions", res, "must be one of the training resolutions");
            Require(t.Mosaic >= 1, $"teachers[{i}].mosaic", t.Mosaic, "must be at least 1 (1 = off)");
            Require(t.SummaryWeight >= 0 && t.FeatureWeight >= 0, $"teachers[{i}].summary_weight/feature_weight", $"{t.SummaryWeight}/{t.FeatureWeight}", "must be non-negative");
        }
        Require(r.Loss.FeatureNormalizer is "none" or "mse" or "global-std" or "std" or "pca-w" or "zca" or "hca" or "phi-s",
            "loss.feature_normalizer", r.Loss.FeatureNormalizer, "must be none, mse, global-std, std, pca-w, zca, hca or phi-s");
        Require(r.Loss.FeatureDistance is "smooth_l1" or "mse", "loss.feature_distance", r.Loss.FeatureDistance, "must be smooth_l1 or mse");
        Require(r.Loss.Balancing is "equal" or "adaloss" or "uncertainty", "loss.balancing", r.Loss.Balancing, "must be equal, adaloss or uncertainty (PHI-S balancing: loss.feature_normalizer=phi-s)");
        Require(r.Loss.NormalizerUpdatePeriod > 0, "loss.normalizer_update_period", r.Loss.NormalizerUpdatePeriod, "must be positive");
        Require(r.Loss.NormalizerWarmupSamples == 0 || r.Loss.NormalizerWarmupSamples >= 2, "loss.normalizer_warmup_samples", r.Loss.NormalizerWarmupSamples, "must be 0 (default) or at least 2");
        Require(r.Loss.NormalizerFreezeStep >= 0, "loss.normalizer_freeze_step", r.Loss.NormalizerFreezeStep, "must be 0 (off) or a step");
        Require(r.Loss.GridMatching is "larger" or "smaller" or "student" or "teacher", "loss.grid_matching", r.Loss.GridMatching, "must be larger, smaller, student or teacher");
        Require(r.Eval.KnnK > 0, "eval.knn_k", r.Eval.KnnK, "must be positive");
    }

    // A key written without a value ("resolutions:") deserializes to null, which no recipe field but
    // teachers[i].input_size accepts; say which key, instead of failing later on the null.
    private static void RequireValues(YamlNode node, string path, string source)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (k, v) in map.Children)
                {
                    var key = (k as YamlScalarNode)?.Value ?? k.ToString();
                    RequireValues(v, path.Length == 0 ? key : $"{path}.{key}", source);
                }
                break;
            case YamlSequenceNode seq:
                for (int i = 0; i < seq.Children.Count; i++) RequireValues(seq.Children[i], $"{path}[{i}]", source);
                break;
            case YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" } scalar
                when !path.EndsWith(".input_size", StringComparison.Ordinal):
                throw new InputException($"{source}:{scalar.Start.Line}: {path} has no value");
        }
    }

    /// <summary>The dotted key of the scalar at <paramref name="mark"/> in <paramref name="yaml"/>, if any.</summary>
    private static string? KeyAt(string yaml, Mark mark)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return Find(stream.Documents[0].RootNode, "");

        string? Find(YamlNode node, string path)
        {
            if (node.Start.Line == mark.Line && node.Start.Column == mark.Column && node is YamlScalarNode) return path;
            switch (node)
            {
                case YamlMappingNode map:
                    foreach (var (k, v) in map.Children)
                        if (Find(v, path.Length == 0 ? ((k as YamlScalarNode)?.Value ?? k.ToString()) : $"{path}.{(k as YamlScalarNode)?.Value ?? k.ToString()}") is string hit) return hit;
                    break;
                case YamlSequenceNode seq:
                    for (int i = 0; i < seq.Children.Count; i++)
                        if (Find(seq.Children[i], $"{path}[{i}]") is string hit) return hit;
                    break;
            }
            return null;
        }
    }

    private static string FirstLine(string s) => s.Split('\n')[0].Trim();

    [GeneratedRegex(@"^([a-z_][a-z0-9_]*)(?:\[(\d+)\])?$")]
    private static partial Regex PathPart();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_\-]*$")]
    private static partial Regex ValidName();

    [GeneratedRegex(@"Property '([^']+)' not found on type '[^']*?\.?([A-Za-z]+)'")]
    private static partial Regex UnknownProperty();
}
