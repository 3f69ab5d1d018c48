using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Condense.Testing;

namespace Condense.Cli.Tests.Commands;

/// <summary>
/// `condense vlm train|ask`, `condense chat` and `condense serve` on a VLM trained for a few steps, and their answers
/// to bad input: a corrupt NIfTI, a bad option, a bad chat command (the chat goes on).
/// </summary>
public sealed class VlmCommandTests : IDisposable
{
    private readonly TempFolder _temp = new("condense-vlm-cli-");
    private readonly string _run;

    public VlmCommandTests()
    {
        _run = Path.Combine(_temp.Path, "vlm");
        var r = CliProcess.Run("vlm", "train", "--run", _run, "--vision-steps", "2", "--align-steps", "2", "--instruct-steps", "2",
            "--expert-steps", "2", "--segmenter-steps", "2", "--batch-size", "2", "--progress", "none", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        var stages = r.Json().GetProperty("stages").EnumerateArray().Select(s => s.GetProperty("name").GetString()).ToList();
        Assert.Equal(["0-segmenter", "1-vision", "2-align", "3-instruct", "4-expert"], stages);
    }

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Ask_answers_one_question_about_a_slice()
    {
        var r = CliProcess.Run("vlm", "ask", "--run", _run, "--plane", "axial", "--slice", "90", "--point", "60,120,90",
            "--question", "Which region lies at the marked point?", "--json");
        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal(JsonValueKind.String, r.Json().GetProperty("answer").ValueKind);

        var off = CliProcess.Run("vlm", "ask", "--run", _run, "--slice", "90", "--point", "60,120,91", "--question", "Which?");
        Assert.Equal(2, off.ExitCode);
        Assert.Equal("error: point '60,120,91' is not on axial slice 90", off.Stderr.Trim());
    }

    [Fact]
    public void A_corrupt_nifti_and_a_bad_option_get_one_line_errors()
    {
        var atlas = Path.Combine(_temp.Path, "atlas");
        Directory.CreateDirectory(atlas);
        foreach (var f in new[] { "aal.nii.gz", "aal.nii.txt" }) File.Copy(Path.Combine("/usr/share/mricron/templates", f), Path.Combine(atlas, f));
        File.WriteAllBytes(Path.Combine(atlas, "ch2.nii.gz"), [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
        var r = CliProcess.Run("vlm", "ask", "--run", _run, "--atlas-dir", atlas, "--question", "Which?");
        Assert.Equal(2, r.ExitCode);
        var line = Assert.Single(r.Stderr.Trim().Split('\n'));
        Assert.Contains("ch2.nii.gz", line);

        var bad = CliProcess.Run("vlm", "train", "--run", Path.Combine(_temp.Path, "x"), "--batch-size", "0");
        Assert.Equal(2, bad.ExitCode);
        Assert.Equal("error: --batch-size must be at least 1, got 0", bad.Stderr.Trim());
    }

    [Fact]
    public async Task Chat_reads_questions_and_commands_and_survives_bad_ones()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "condense.dll"), "chat", "--run", _run }) psi.ArgumentList.Add(a);
        psi.Environment["OMP_NUM_THREADS"] = "1";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardInput.Write("/slice axial 999\n/point 60,120,90\nWhich region lies at the marked point?\n/experts off\nIs this an axial or a coronal slice?\n/quit\n");
        p.StandardInput.Close();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await p.WaitForExitAsync(timeout.Token);
        string err = await stderr, output = await stdout;
        Assert.True(p.ExitCode == 0, err);
        Assert.Contains("error: slice 999 is outside the axial range 0..180", err);
        Assert.Contains("[axial 90, point 60,120,90, no experts] >", err);
        Assert.True(output.Count(c => c == '\n') >= 2, "each of the two questions gets an answer line");
    }

    [Fact]
    public async Task Serve_answers_a_real_http_request_until_stopped()
    {
        using var p = CliProcess.Start("serve", "--run", _run, "--port", "0");
        string? line = await p.StandardOutput.ReadLineAsync();
        Assert.True(line is not null && line.StartsWith("serving condense-vila-m3 at http://127.0.0.1:", StringComparison.Ordinal), line ?? p.StandardError.ReadToEnd());
        string address = line!.Split(' ')[3];
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(2) };
        var response = await http.PostAsJsonAsync($"{address}/v1/chat/completions", new
        {
            model = "condense-vila-m3",
            condense = new { plane = "coronal", slice = 120 },
            messages = new[] { new { role = "user", content = "Is this an axial or a coronal slice?" } },
        });
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(JsonValueKind.String, body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").ValueKind);
        Assert.Contains("<title>Condense VILA-M3 demo</title>", await http.GetStringAsync(address + "/"));
        p.Kill();
        Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)));
    }
}
