using System.CommandLine;
using System.Globalization;
using Condense.Vision.Models;
using Spectre.Console;

namespace Condense.Cli.Commands;

/// <summary><c>condense models</c>: the registered vision backbones with their parameter counts.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var json = CommonOptions.Json();
        var cmd = new Command("models", "List the registered vision backbones (ViT, RADIO ViT, FasterViT, E-RADIO) with parameter counts.")
        {
            json,
        };
        cmd.SetAction(pr =>
        {
            var output = new CliOutput(pr.GetValue(json));
            var models = ModelRegistry.List();
            output.Result(new
            {
                models = models.Select(m => new
                {
                    name = m.Name,
                    family = m.Family,
                    parameters = m.Parameters,
                    default_resolution = m.DefaultResolution,
                    num_classes = m.NumClasses,
                    feature_stride = m.FeatureStride,
                    reference = m.Reference,
                }),
            });
            if (output.Json) return ExitCodes.Ok;
            var table = new Table().AddColumn("name").AddColumn("family").AddColumn(new TableColumn("parameters").RightAligned())
                .AddColumn("head").AddColumn("stride").AddColumn("reference");
            foreach (var m in models)
                table.AddRow(m.Name, m.Family, (m.Parameters / 1e6).ToString("F1", CultureInfo.InvariantCulture) + "M",
                    m.NumClasses > 0 ? m.NumClasses.ToString(CultureInfo.InvariantCulture) : "-", $"/{m.FeatureStride}", Markup.Escape(m.Reference));
            output.Human.Write(table);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
