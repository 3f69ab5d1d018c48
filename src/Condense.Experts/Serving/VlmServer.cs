// `condense serve`: an OpenAI-compatible HTTP API over the VLM with experts (POST /v1/chat/completions, images as
// data URLs, streaming as server-sent events), plus the demo page (GET /) and the two helpers it uses (GET /api/slice
// renders a slice as the model sees it; GET /api/pick maps a click on it to a voxel). One model, one request at a
// time (a lock); bad requests get 400 with a one-line message and the server keeps serving.
using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Condense.Core;
using Condense.Experts.Data;
using Condense.Experts.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Condense.Experts.Serving;

/// <summary>The HTTP server.</summary>
public sealed class VlmServer : IAsyncDisposable
{
    /// <summary>The model id the API reports.</summary>
    public const string ModelId = "condense-vila-m3";

    private readonly WebApplication app;
    private readonly VlmSession session;
    private readonly SemaphoreSlim modelLock = new(1, 1);

    private VlmServer(WebApplication app, VlmSession session)
    {
        this.app = app;
        this.session = session;
    }

    /// <summary>Where it listens (after start).</summary>
    public string Address => app.Urls.First();

    /// <summary>Starts listening on <paramref name="url"/> (port 0 picks a free port).</summary>
    public static async Task<VlmServer> StartAsync(VlmSession session, string url, CancellationToken cancellation = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(url);
        var app = builder.Build();
        var server = new VlmServer(app, session);
        server.Map();
        await app.StartAsync(cancellation).ConfigureAwait(false);
        return server;
    }

    /// <summary>Waits until <paramref name="cancellation"/> fires, then stops.</summary>
    public async Task RunUntilCancelledAsync(CancellationToken cancellation)
    {
        try { await Task.Delay(Timeout.Infinite, cancellation).ConfigureAwait(false); }
        catch (OperationCanceledException) { }
        await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync().ConfigureAwait(false);
        modelLock.Dispose();
    }

    private void Map()
    {
        app.MapGet("/", () => Results.Content(DemoPage.Html, "text/html; charset=utf-8"));
        app.MapGet("/health", () => Results.Json(new { status = "ok", model = ModelId }));
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = ModelId, @object = "model", owned_by = "condense" } } }));
        app.MapGet("/api/slice", (HttpRequest r) => Guard(() =>
        {
            var view = View(r);
            var marker = VlmSession.ParseMarker(r.Query["point"].FirstOrDefault(), r.Query["area"].FirstOrDefault(), view, session.Atlas);
            var size = session.Atlas.Size;
            int count = view.Plane switch { SlicePlane.Axial => size.Z, SlicePlane.Coronal => size.Y, _ => size.X };
            return Results.Json(new { image = ImageCodec.DataUrl(session.Image(view, marker), session.Pixels), pixels = session.Pixels, plane = Name(view.Plane), slice = view.Index, slices = count });
        }));
        app.MapGet("/api/pick", (HttpRequest r) => Guard(() =>
        {
            var view = View(r);
            double u = Number(r, "u"), v = Number(r, "v");
            var (a, b) = view.FromPixel(u, v, session.Pixels, session.Atlas.Size);
            var (i, j, k) = view.Voxel(Math.Round(a), Math.Round(b));
            int[] voxel = [(int)i, (int)j, (int)k];
            if (!session.Atlas.T1.Contains(voxel[0], voxel[1], voxel[2])) throw new InputException($"pixel ({u}, {v}) lies outside the volume");
            return Results.Json(new { voxel });
        }));
        app.MapPost("/v1/chat/completions", Chat);
    }

    private async Task Chat(HttpContext http)
    {
        ChatRequest request;
        float[] image;
        Marker? marker;
        try
        {
            using var reader = new StreamReader(http.Request.Body);
            request = ChatRequest.Parse(await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false));
            session.RequireSlice(request.View);
            marker = VlmSession.ParseMarker(request.Point, request.Area, request.View, session.Atlas);
            image = request.ImageUrl is null ? session.Image(request.View, marker) : ImageCodec.FromDataUrl(request.ImageUrl, session.Pixels);
        }
        catch (InputException e)
        {
            await Error(http, e.Message).ConfigureAwait(false);
            return;
        }
        string id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        if (!request.Stream)
        {
            var result = await Locked(() => session.Ask(image, request.View, marker, request.Question, request.UseExperts), http.RequestAborted).ConfigureAwait(false);
            await Json(http, 200, new
            {
                id,
                @object = "chat.completion",
                created,
                model = ModelId,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = result.Answer }, finish_reason = "stop" } },
                condense = Extras(result),
            }).ConfigureAwait(false);
            return;
        }
        http.Response.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var pieces = Channel.CreateUnbounded<string>();
        var work = Locked(() =>
        {
            try { return session.Ask(image, request.View, marker, request.Question, request.UseExperts, text => pieces.Writer.TryWrite(text)); }
            finally { pieces.Writer.TryComplete(); }
        }, http.RequestAborted);
        await foreach (var text in pieces.Reader.ReadAllAsync(http.RequestAborted).ConfigureAwait(false))
            await Event(http, Chunk(id, created, new { content = text }, null, null)).ConfigureAwait(false);
        var final = await work.ConfigureAwait(false);
        await Event(http, Chunk(id, created, new { }, "stop", Extras(final))).ConfigureAwait(false);
        await http.Response.WriteAsync("data: [DONE]\n\n", http.RequestAborted).ConfigureAwait(false);
    }

    private object Extras(LoopResult r) => new
    {
        first_reply = r.FirstReply,
        trigger = r.Trigger?.ToString(),
        expert = r.Expert?.Text,
        expert_overlay = r.Expert?.Overlay is { } o ? ImageCodec.DataUrl(o, session.Pixels) : null,
        error = r.Error,
        answer = r.Answer,
    };

    private static object Chunk(string id, long created, object delta, string? finish, object? extras) => new
    {
        id,
        @object = "chat.completion.chunk",
        created,
        model = ModelId,
        choices = new[] { new { index = 0, delta, finish_reason = finish } },
        condense = extras,
    };

    private async Task<T> Locked<T>(Func<T> work, CancellationToken cancellation)
    {
        await modelLock.WaitAsync(cancellation).ConfigureAwait(false);
        try { return await Task.Run(work, cancellation).ConfigureAwait(false); }
        finally { modelLock.Release(); }
    }

    private static IResult Guard(Func<IResult> handler)
    {
        try { return handler(); }
        catch (InputException e) { return Results.Json(ErrorBody(e.Message), statusCode: 400); }
    }

    private static object ErrorBody(string message) => new { error = new { message, type = "invalid_request_error" } };

    private static Task Error(HttpContext http, string message) => Json(http, 400, ErrorBody(message));

    private static async Task Json(HttpContext http, int status, object body)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "application/json";
        await http.Response.WriteAsync(JsonSerializer.Serialize(body), http.RequestAborted).ConfigureAwait(false);
    }

    private static async Task Event(HttpContext http, object body)
    {
        await http.Response.WriteAsync("data: " + JsonSerializer.Serialize(body) + "\n\n", http.RequestAborted).ConfigureAwait(false);
        await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
    }

    private SliceView View(HttpRequest r)
    {
        string planeText = r.Query["plane"].FirstOrDefault() ?? "axial";
        if (!Enum.TryParse<SlicePlane>(planeText, ignoreCase: true, out var plane) || !Enum.IsDefined(plane))
            throw new InputException($"plane '{planeText}' must be axial, coronal or sagittal");
        var view = new SliceView(plane, (int)Number(r, "slice", 90));
        session.RequireSlice(view);
        return view;
    }

    private static double Number(HttpRequest r, string name, double? fallback = null)
    {
        string? text = r.Query[name].FirstOrDefault();
        if (text is null && fallback is { } f) return f;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.IsFinite(x)
            ? x : throw new InputException($"{name} '{text}' must be a number");
    }

    private static string Name(SlicePlane plane) => plane.ToString().ToLowerInvariant();
}
