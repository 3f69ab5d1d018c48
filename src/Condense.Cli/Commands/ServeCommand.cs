using System.CommandLine;
using Condense.Core.Runtime;
using Condense.Experts.Inference;
using Condense.Experts.Serving;
using Condense.Experts.Training;
using Condense.Experts.Volumes;

namespace Condense.Cli.Commands;

/// <summary><c>condense serve</c>: the VLM with experts behind an OpenAI-compatible HTTP API and a demo page.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var run = VlmCommand.RunDir();
        var atlasDir = VlmCommand.AtlasDir();
        var host = new Option<string>("--host") { Description = "Address to listen on.", DefaultValueFactory = _ => "127.0.0.1" };
        var port = new Option<int>("--port") { Description = "Port (0 picks a free one).", DefaultValueFactory = _ => 8080 };
        var configs = VlmCommand.ExpertConfigs();
        var cmd = new Command("serve", "Serve the VLM with experts: POST /v1/chat/completions (OpenAI format, images as data URLs, streaming), and a demo page at /.")
        {
            run, atlasDir, host, port, configs,
        };
        cmd.SetAction(async (pr, cancellation) =>
        {
            if (pr.GetValue(port) is < 0 or > 65535) throw new Condense.Core.InputException($"--port {pr.GetValue(port)} must be in 0..65535");
            var atlas = BrainAtlas.Load(pr.GetValue(atlasDir));
            TorchRuntime.EnsureLoaded();
            using var vlm = VlmFiles.Load(pr.GetValue(run)!);
            var session = new VlmSession(vlm, atlas, VlmCommand.Experts(vlm, pr.GetValue(configs)));
            await using var server = await VlmServer.StartAsync(session, $"http://{pr.GetValue(host)}:{pr.GetValue(port)}", cancellation);
            // One line on stdout a script can wait for; the address has the real port when --port 0.
            Console.Out.WriteLine($"serving {VlmServer.ModelId} at {server.Address} (demo page: {server.Address}/, API: {server.Address}/v1/chat/completions)");
            Console.Out.Flush();
            await server.RunUntilCancelledAsync(cancellation);
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
