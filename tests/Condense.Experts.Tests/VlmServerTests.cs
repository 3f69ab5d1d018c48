using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Condense.Experts.Inference;
using Condense.Experts.Serving;
using Condense.Experts.Training;
using Condense.Testing;

namespace Condense.Experts.Tests;

public class VlmServerTests(TinyVlm tiny) : IClassFixture<TinyVlm>
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromMinutes(2) };

    private async Task<(VlmServer Server, TrainedVlm Vlm)> Start()
    {
        var vlm = VlmFiles.Load(tiny.RunDir);
        var server = await VlmServer.StartAsync(new VlmSession(vlm, ColinAtlas.Value, vlm.Experts), "http://127.0.0.1:0");
        return (server, vlm);
    }

    private static StringContent Body(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static object Request(object content, bool stream = false) => new
    {
        model = VlmServer.ModelId,
        stream,
        condense = new { plane = "axial", slice = 90, point = new[] { 60, 120, 90 } },
        messages = new object[] { new { role = "user", content } },
    };

    [Fact]
    public async Task Answers_a_chat_request_with_an_image_data_url_plain_and_streamed()
    {
        var (server, vlm) = await Start();
        await using var _ = server;
        using var __ = vlm;
        using var slice = JsonDocument.Parse(await Http.GetStringAsync($"{server.Address}/api/slice?plane=axial&slice=90&point=60,120,90"));
        string image = slice.RootElement.GetProperty("image").GetString()!;
        Assert.StartsWith("data:image/png;base64,", image);
        var content = new object[] { new { type = "text", text = "Which region lies at the marked point?" }, new { type = "image_url", image_url = new { url = image } } };

        var plain = await Http.PostAsync($"{server.Address}/v1/chat/completions", Body(Request(content)));
        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        using var answer = JsonDocument.Parse(await plain.Content.ReadAsStringAsync());
        Assert.Equal("chat.completion", answer.RootElement.GetProperty("object").GetString());
        var message = answer.RootElement.GetProperty("choices")[0].GetProperty("message");
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        string text = message.GetProperty("content").GetString()!;
        Assert.Equal(text, answer.RootElement.GetProperty("condense").GetProperty("answer").GetString());

        // The same question streamed: chunks, a final chunk with finish_reason, then [DONE]; the text agrees.
        var streamed = await Http.PostAsync($"{server.Address}/v1/chat/completions", Body(Request(content, stream: true)));
        Assert.Equal("text/event-stream", streamed.Content.Headers.ContentType!.MediaType);
        var events = (await streamed.Content.ReadAsStringAsync()).Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", events[^1]);
        using var last = JsonDocument.Parse(events[^2]["data: ".Length..]);
        Assert.Equal("stop", last.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(text, last.RootElement.GetProperty("condense").GetProperty("answer").GetString());
        Assert.All(events[..^1], e => Assert.Equal("chat.completion.chunk", JsonDocument.Parse(e["data: ".Length..]).RootElement.GetProperty("object").GetString()));
    }

    [Theory]
    [InlineData("{\"messages\": [", "not valid JSON")]
    [InlineData("{\"messages\": []}", "messages must be a non-empty array")]
    [InlineData("{\"messages\": [{\"role\": \"assistant\", \"content\": \"hi\"}]}", "role 'user'")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"video\"}]}]}", "'video'")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"Which?\"}], \"condense\": {\"plane\": \"oblique\"}}", "condense.plane")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"Which?\"}], \"condense\": {\"slice\": 900}}", "outside the axial range")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": \"Which?\"}], \"condense\": {\"point\": [1, 2, 3]}}", "not on axial slice 90")]
    [InlineData("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Which?\"}, {\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64,!!!\"}}]}]}", "not valid base64")]
    public async Task Bad_requests_get_400_with_a_one_line_message_and_the_server_keeps_serving(string body, string expected)
    {
        var (server, vlm) = await Start();
        await using var _ = server;
        using var __ = vlm;
        var response = await Http.PostAsync($"{server.Address}/v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        string message = error.RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains(expected, message);
        Assert.DoesNotContain('\n', message);
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync($"{server.Address}/health")).StatusCode);
    }

    [Fact]
    public async Task An_image_of_the_wrong_size_is_refused_by_its_size()
    {
        var (server, vlm) = await Start();
        await using var _ = server;
        using var __ = vlm;
        string small = ImageCodec.DataUrl(new float[3 * 16 * 16], 16);
        var content = new object[] { new { type = "text", text = "Which?" }, new { type = "image_url", image_url = new { url = small } } };
        var response = await Http.PostAsync($"{server.Address}/v1/chat/completions", Body(Request(content)));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("the image is 16x16; the model takes 32x32", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_demo_page_renders_in_headless_chromium_and_shows_an_answer()
    {
        var (server, vlm) = await Start();
        await using var _ = server;
        using var __ = vlm;
        using var temp = new TempFolder();
        string url = $"{server.Address}/?plane=axial&slice=90&point=60,120,90&q=Which%20region%20lies%20at%20the%20marked%20point%3F&ask=1";
        string dom = await Chromium(temp, "--dump-dom", url);
        Assert.Contains("<title>done</title>", dom);
        var answer = System.Text.RegularExpressions.Regex.Match(dom, "<span id=\"answer\"[^>]*>([^<]*)</span>");
        Assert.True(answer.Success && answer.Groups[1].Value.Length > 0, "the answer element is filled");
        string shot = temp.File("page.png");
        await Chromium(temp, $"--screenshot={shot}", url);
        Assert.True(new FileInfo(shot).Length > 10_000);
    }

    private static async Task<string> Chromium(TempFolder temp, string action, string url)
    {
        var start = new ProcessStartInfo("chromium")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = temp.Path,
        };
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", $"--user-data-dir={temp.File("profile")}",
                     "--window-size=1000,760", "--virtual-time-budget=60000", action, url })
            start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"chromium exited {process.ExitCode}: {await error}");
        return await output;
    }
}
