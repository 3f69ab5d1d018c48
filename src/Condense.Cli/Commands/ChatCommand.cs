using System.CommandLine;
using Condense.Core;
using Condense.Core.Runtime;
using Condense.Experts.Data;
using Condense.Experts.Inference;
using Condense.Experts.Training;
using Condense.Experts.Volumes;

namespace Condense.Cli.Commands;

/// <summary>
/// <c>condense chat</c>: ask the VLM about slices in the terminal. Lines are questions; commands set the slice and the
/// mark: <c>/slice axial 90</c>, <c>/point i,j,k</c>, <c>/area i,j,k</c>, <c>/clear</c>, <c>/experts on|off</c>, <c>/quit</c>.
/// </summary>
internal static class ChatCommand
{
    private const string Help = "commands: /slice PLANE INDEX, /point i,j,k, /area i,j,k, /clear, /experts on|off, /help, /quit; anything else is a question";

    public static Command Create()
    {
        var run = VlmCommand.RunDir();
        var atlasDir = VlmCommand.AtlasDir();
        var configs = VlmCommand.ExpertConfigs();
        var cmd = new Command("chat", "Chat with the VLM about Colin27 slices in the terminal; it calls the expert models when it needs them.") { run, atlasDir, configs };
        cmd.SetAction(pr =>
        {
            var atlas = BrainAtlas.Load(pr.GetValue(atlasDir));
            TorchRuntime.EnsureLoaded();
            using var vlm = VlmFiles.Load(pr.GetValue(run)!);
            var session = new VlmSession(vlm, atlas, VlmCommand.Experts(vlm, pr.GetValue(configs)));
            var view = new SliceView(SlicePlane.Axial, 90);
            Marker? marker = null;
            bool experts = true;
            Console.Error.WriteLine(Help);
            while (true)
            {
                Console.Error.Write($"[{view.Plane.ToString().ToLowerInvariant()} {view.Index}{(marker is null ? "" : $", {marker.Kind.ToString().ToLowerInvariant()} {marker.I},{marker.J},{marker.K}")}{(experts ? "" : ", no experts")}] > ");
                string? line = Console.In.ReadLine();
                if (line is null) break;
                line = line.Trim();
                if (line.Length == 0) continue;
                try
                {
                    if (line.StartsWith('/'))
                    {
                        var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                        switch (parts[0])
                        {
                            case "/quit" or "/exit": return ExitCodes.Ok;
                            case "/help": Console.Error.WriteLine(Help); break;
                            case "/clear": marker = null; break;
                            case "/experts" when parts.Length == 2 && parts[1] is "on" or "off": experts = parts[1] == "on"; break;
                            case "/slice" when parts.Length == 3:
                                if (!Enum.TryParse<SlicePlane>(parts[1], true, out var plane) || !Enum.IsDefined(plane) || !int.TryParse(parts[2], out int index))
                                    throw new InputException($"'{line}': expected /slice axial|coronal|sagittal INDEX");
                                var next = new SliceView(plane, index);
                                session.RequireSlice(next);
                                (view, marker) = (next, null);
                                break;
                            case "/point" when parts.Length == 2: marker = VlmSession.ParseMarker(parts[1], null, view, atlas); break;
                            case "/area" when parts.Length == 2: marker = VlmSession.ParseMarker(null, parts[1], view, atlas); break;
                            default: throw new InputException($"'{line}' is not a command; {Help}");
                        }
                        continue;
                    }
                    var result = session.Ask(view, marker, line, experts, text => Console.Out.Write(text));
                    Console.Out.WriteLine();
                    if (result.Expert is not null) Console.Error.WriteLine($"  (expert {result.Trigger}: {result.Expert.Text})");
                }
                catch (InputException e)
                {
                    CliOutput.Error(e.Message);
                }
            }
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
