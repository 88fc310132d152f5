using System.Collections.Concurrent;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

/// <summary>One scripted response: bytes exactly as given, with the status and headers given.</summary>
internal sealed record ScriptedReply(int Status, byte[] Body, string ContentType)
{
    public Dictionary<string, string> Headers { get; init; } = new() { ["request-id"] = "req_scripted" };

    /// <summary>Content-Length to announce; larger than the body makes the server close the connection mid-body.</summary>
    public long? PromisedLength { get; init; }

    /// <summary>Never answer: wait until the client gives up.</summary>
    public bool HangBeforeHeaders { get; init; }

    /// <summary>Send the body, then wait until the client gives up.</summary>
    public bool HangAfterBody { get; init; }

    /// <summary>Answer only once this completes (the server's <see cref="ScriptedClaudeServer.Hanging"/> says it is held).</summary>
    public Task? HoldUntil { get; init; }

    public static ScriptedReply Json(int status, string fixture) => new(status, Fixtures.Bytes(fixture), "application/json");

    public static ScriptedReply Sse(string fixture) => new(200, Fixtures.Bytes(fixture), "text/event-stream");

    public static ScriptedReply Html(int status, string fixture) => new(status, Fixtures.Bytes(fixture), "text/html");

    public ScriptedReply WithHeader(string name, string value) =>
        this with { Headers = new Dictionary<string, string>(Headers) { [name] = value } };
}

internal sealed record RecordedRequest(string Path, Dictionary<string, string> Headers, string Body);

/// <summary>A tiny Kestrel endpoint that answers each request with the next scripted reply, byte for byte.</summary>
internal sealed class ScriptedClaudeServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<ScriptedReply> _script = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private WebApplication _app = null!;

    public Uri BaseUrl { get; private set; } = null!;

    public IReadOnlyList<RecordedRequest> Requests => [.. _requests];

    /// <summary>Completes when a request arrives that the server will not answer.</summary>
    public TaskCompletionSource Hanging { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Adds replies to the end of the script.</summary>
    public void Enqueue(params ScriptedReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    public static async Task<ScriptedClaudeServer> StartAsync(params ScriptedReply[] replies)
    {
        var server = new ScriptedClaudeServer();
        foreach (var reply in replies)
        {
            server._script.Enqueue(reply);
        }

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls("http://127.0.0.1:0");
        server._app = builder.Build();
        server._app.Run(server.HandleAsync);
        await server._app.StartAsync();
        var address = server._app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        server.BaseUrl = new Uri(address);
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(context.RequestAborted);
        _requests.Enqueue(new RecordedRequest(
            context.Request.Path,
            context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()),
            body));

        if (!_script.TryDequeue(out var reply))
        {
            context.Response.StatusCode = 418;
            return;
        }

        if (reply.HoldUntil is { } release)
        {
            Hanging.TrySetResult();
            await release.WaitAsync(context.RequestAborted);
        }

        if (reply.HangBeforeHeaders)
        {
            Hanging.TrySetResult();
            await WaitForClientToLeaveAsync(context.RequestAborted);
            return;
        }

        context.Response.StatusCode = reply.Status;
        context.Response.ContentType = reply.ContentType;
        context.Response.ContentLength = reply.PromisedLength ?? reply.Body.Length;
        foreach (var (name, value) in reply.Headers)
        {
            context.Response.Headers[name] = value;
        }

        await context.Response.Body.WriteAsync(reply.Body, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
        if (reply.HangAfterBody)
        {
            Hanging.TrySetResult();
            await WaitForClientToLeaveAsync(context.RequestAborted);
        }
    }

    private static async Task WaitForClientToLeaveAsync(CancellationToken aborted)
    {
        var left = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var registration = aborted.Register(() => left.TrySetResult());
        await left.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
