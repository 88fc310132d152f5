using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Simulator;

/// <summary>
/// POST /v1/messages in the real wire format: a JSON message, an SSE stream (message_start, content_block_start,
/// ping, text_delta chunks, content_block_stop, message_delta, message_stop), or an error body, each with a
/// <c>request-id</c> and <c>anthropic-ratelimit-*</c> headers.
/// </summary>
internal sealed class MessagesEndpoint(
    IOptions<SimulatorOptions> options,
    SimulatorState state,
    OrganizationRateLimiter limiter,
    TimeProvider time,
    ILogger<MessagesEndpoint> logger)
{
    internal static readonly JsonWriterOptions WireJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private const string Base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private const string BadGatewayPage =
        "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";

    private readonly SimulatorOptions _options = options.Value;

    public async Task HandleAsync(HttpContext context)
    {
        var token = context.RequestAborted;
        var random = new Random(Random.Shared.Next());
        var requestId = "req_011" + RandomId(random, 21);
        context.Response.Headers["request-id"] = requestId;

        // Every answer says it is not Claude's, so rows built from it are marked simulated and kept apart.
        context.Response.Headers["x-brun-simulated"] = "true";

        if (_options.RequireApiKey && string.IsNullOrEmpty(context.Request.Headers["x-api-key"]))
        {
            await WriteErrorAsync(context, 401, "authentication_error", "x-api-key header is required", requestId, token).ConfigureAwait(false);
            return;
        }

        var (request, problem) = await ReadRequestAsync(context.Request, _options.RecordRequestBodies ? state : null, token).ConfigureAwait(false);
        if (request is null)
        {
            await WriteErrorAsync(context, 400, "invalid_request_error", problem!, requestId, token).ConfigureAwait(false);
            return;
        }

        var admission = limiter.TryAdmit(ReplyPlanner.InputTokens(request), request.MaxTokens);
        foreach (var (name, value) in admission.Headers)
        {
            context.Response.Headers[name] = value;
        }

        if (admission.Exceeded is { } exceeded)
        {
            Log.RateLimited(logger, requestId, exceeded, admission.RetryAfterSeconds);
            context.Response.Headers["retry-after"] = admission.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await WriteErrorAsync(context, 429, "rate_limit_error", OrganizationRateLimiter.Message(exceeded, _options), requestId, token).ConfigureAwait(false);
            return;
        }

        try
        {
            await AnswerAsync(context, request, requestId, tokens => limiter.Settle(admission, tokens), token).ConfigureAwait(false);
        }
        finally
        {
            // An answer abandoned half-way (client gone) still ends its reservation; a second settle does nothing.
            limiter.Settle(admission, 0);
        }
    }

    // generated(tokens) is called once generation is over, before the last bytes are sent (the message_delta, or the
    // whole JSON body): the API corrects its output count when the answer is generated, so a client that has read the
    // end of the answer never sees the reservation still held.
    private async Task AnswerAsync(HttpContext context, SimulatedRequest request, string requestId, Action<int> generated, CancellationToken token)
    {
        // A re-sent prompt may be answered differently (see DrawKey); the same seed replays the same sequence.
        var attempt = state.NextAttempt(request.Prompt);
        var drawKey = SimulatorScenarioPicker.DrawKey(request.Prompt, attempt, _options, request.Stream);
        var scenario = SimulatorScenarioPicker.Pick(drawKey, _options, request.Stream);
        var reply = PromptCache(request, ReplyPlanner.Plan(request, scenario, attempt, _options, drawKey));
        Log.Reply(logger, requestId, reply.Scenario, attempt, reply.Status, reply.StopReason, reply.OutputTokens, request.MaxTokens, request.Stream);

        var wireRandom = new Random(reply.WireSeed);
        var latency = Latency(_options, wireRandom, reply.OutputTokens);

        if (reply.Html)
        {
            await DelayAsync(latency, token).ConfigureAwait(false);
            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = "text/html";
            generated(0);
            await context.Response.WriteAsync(BadGatewayPage, token).ConfigureAwait(false);
            return;
        }

        if (reply.ErrorType is not null)
        {
            if (reply.SendRetryAfter)
            {
                context.Response.Headers["retry-after"] = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            generated(0);
            await WriteErrorAsync(context, reply.Status, reply.ErrorType, reply.ErrorMessage ?? reply.ErrorType, requestId, token).ConfigureAwait(false);
            return;
        }

        var messageId = "msg_01" + RandomId(wireRandom, 22);
        long sent;
        if (request.Stream)
        {
            sent = await WriteStreamAsync(context, request, reply, messageId, wireRandom, latency, generated, token).ConfigureAwait(false);
        }
        else
        {
            sent = await WriteMessageAsync(context, request, reply, messageId, latency, generated, token).ConfigureAwait(false);
        }

        if (reply.Ending == ReplyEnding.ConnectionCut && context.Response.ContentLength is { } promised && sent < promised)
        {
            // Kestrel closes the connection now; its "Content-Length mismatch" error is filtered out (ForwardingLoggerProvider).
            Log.DeliberateCut(logger, requestId, sent, promised);
        }
    }

    /// <summary>
    /// Prompt caching as the API reports it: the text up to the last <c>cache_control</c> breakpoint is written to
    /// the cache on first sight (cache_creation_input_tokens) and read from it within the lifetime after that
    /// (cache_read_input_tokens); only the rest counts as input_tokens. A prefix below the minimum cacheable length
    /// is not cached, as on the real API. Error replies are not billed and keep their numbers.
    /// </summary>
    private SimulatedReply PromptCache(SimulatedRequest request, SimulatedReply reply)
    {
        if (request.CachePrefix is not { Length: > 0 } prefix || reply.ErrorType is not null || reply.Html)
        {
            return reply;
        }

        var cached = ReplyPlanner.Tokens(prefix.Length);
        if (cached < _options.MinCacheableTokens)
        {
            return reply;
        }

        var hit = state.TouchCache(request.Model + "\n" + prefix, time.GetUtcNow(), _options.CacheLifetime);
        var uncached = Math.Max(1, reply.InputTokens - cached);
        return hit
            ? reply with { InputTokens = uncached, CacheReadInputTokens = cached }
            : reply with { InputTokens = uncached, CacheCreationInputTokens = cached };
    }

    private static async Task<(SimulatedRequest? Request, string? Problem)> ReadRequestAsync(HttpRequest http, SimulatorState? recorder, CancellationToken token)
    {
        var (document, problem) = await ReadJsonAsync(http, recorder, token).ConfigureAwait(false);
        if (document is null)
        {
            return (null, problem);
        }

        using (document)
        {
            return ParseRequest(document.RootElement);
        }
    }

    /// <summary>Reads Messages parameters: a request body, or the <c>params</c> of one batch request.</summary>
    internal static (SimulatedRequest? Request, string? Problem) ParseRequest(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return (null, "The request body must be a JSON object.");
        }

        if (!root.TryGetProperty("max_tokens", out var maxTokens) || !maxTokens.TryGetInt32(out var max) || max < 1)
        {
            return (null, "max_tokens: Field required");
        }

        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            return (null, "messages: Field required");
        }

        var prompt = new StringBuilder();
        var cacheable = new StringBuilder();
        var cachePrefix = string.Empty;
        if (root.TryGetProperty("system", out var systemBlocks))
        {
            cachePrefix = AppendCacheable(cacheable, systemBlocks, cachePrefix);
        }

        foreach (var message in messages.EnumerateArray())
        {
            if (message.TryGetProperty("role", out var role) && role.ValueEquals("user")
                && message.TryGetProperty("content", out var content))
            {
                AppendText(prompt, content);
                cachePrefix = AppendCacheable(cacheable, content, cachePrefix);
            }
        }

        var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "claude-sonnet-4-5";
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var system = new StringBuilder();
        if (root.TryGetProperty("system", out var systemElement))
        {
            AppendText(system, systemElement);
        }

        return (new SimulatedRequest(model, max, stream, prompt.ToString(), system.Length == 0 ? null : system.ToString())
        {
            CachePrefix = cachePrefix.Length == 0 ? null : cachePrefix,
        }, null);
    }

    /// <summary>Reads the whole body (recording it when asked) and parses it; a problem message when it is not JSON.</summary>
    internal static async Task<(JsonDocument? Document, string? Problem)> ReadJsonAsync(HttpRequest http, SimulatorState? recorder, CancellationToken token)
    {
        using var buffer = new MemoryStream();
        await http.Body.CopyToAsync(buffer, token).ConfigureAwait(false);
        recorder?.Record(http.Path.Value ?? string.Empty, Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        try
        {
            return (JsonDocument.Parse(buffer.GetBuffer().AsMemory(0, (int)buffer.Length)), null);
        }
        catch (JsonException ex)
        {
            return (null, $"The request body is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>Appends the blocks' text; returns the text so far when a block carries <c>cache_control</c>, else <paramref name="prefix"/>.</summary>
    private static string AppendCacheable(StringBuilder text, JsonElement content, string prefix)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            text.Append(content.GetString());
            return prefix;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return prefix;
        }

        foreach (var block in content.EnumerateArray())
        {
            if (block.TryGetProperty("text", out var value) && value.ValueKind == JsonValueKind.String)
            {
                text.Append(value.GetString());
            }

            if (block.TryGetProperty("cache_control", out var control) && control.ValueKind == JsonValueKind.Object)
            {
                prefix = text.ToString();
            }
        }

        return prefix;
    }

    internal static void AppendText(StringBuilder target, JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            target.Append(content.GetString());
            return;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            return;
        }

        foreach (var block in content.EnumerateArray())
        {
            if (block.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                target.Append(text.GetString());
            }
        }
    }

    /// <returns>The bytes written.</returns>
    private async Task<long> WriteMessageAsync(
        HttpContext context, SimulatedRequest request, SimulatedReply reply, string messageId, TimeSpan latency, Action<int> generated, CancellationToken token)
    {
        await DelayAsync(latency, token).ConfigureAwait(false);
        generated(reply.OutputTokens);
        var body = Encoding.UTF8.GetBytes(Json(writer =>
        {
            WriteMessageHead(writer, request, messageId);
            writer.WriteStartArray("content");
            writer.WriteStartObject();
            writer.WriteString("type", "text");
            writer.WriteString("text", reply.Text);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteString("stop_reason", reply.StopReason);
            writer.WriteNull("stop_sequence");
            WriteStopDetails(writer, reply);
            WriteUsage(writer, reply, reply.OutputTokens, full: true);
        }));

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        var send = reply.Ending == ReplyEnding.ConnectionCut ? (int)(body.Length * reply.CutFraction) : body.Length;
        await context.Response.Body.WriteAsync(body.AsMemory(0, send), token).ConfigureAwait(false);
        return send;
    }

    /// <returns>The bytes written.</returns>
    private async Task<long> WriteStreamAsync(
        HttpContext context, SimulatedRequest request, SimulatedReply reply, string messageId, Random random, TimeSpan latency,
        Action<int> generated, CancellationToken token)
    {
        var chunks = Chunk(reply.Text, random);
        var head = new List<string>
        {
            Event("message_start", w =>
            {
                w.WriteString("type", "message_start");
                w.WriteStartObject("message");
                WriteMessageHead(w, request, messageId);
                w.WriteStartArray("content");
                w.WriteEndArray();
                w.WriteNull("stop_reason");
                w.WriteNull("stop_sequence");
                WriteUsage(w, reply, 1, full: true);
                w.WriteEndObject();
            }),
            Event("content_block_start", w =>
            {
                w.WriteString("type", "content_block_start");
                w.WriteNumber("index", 0);
                w.WriteStartObject("content_block");
                w.WriteString("type", "text");
                w.WriteString("text", string.Empty);
                w.WriteEndObject();
            }),
            Event("ping", w => w.WriteString("type", "ping")),
        };
        var deltas = chunks.Select(piece => Event("content_block_delta", w =>
        {
            w.WriteString("type", "content_block_delta");
            w.WriteNumber("index", 0);
            w.WriteStartObject("delta");
            w.WriteString("type", "text_delta");
            w.WriteString("text", piece);
            w.WriteEndObject();
        })).ToList();
        var tail = new List<string>
        {
            Event("content_block_stop", w =>
            {
                w.WriteString("type", "content_block_stop");
                w.WriteNumber("index", 0);
            }),
            Event("message_delta", w =>
            {
                w.WriteString("type", "message_delta");
                w.WriteStartObject("delta");
                w.WriteString("stop_reason", reply.StopReason);
                w.WriteNull("stop_sequence");
                WriteStopDetails(w, reply);
                w.WriteEndObject();
                WriteUsage(w, reply, reply.OutputTokens, full: false);
            }),
            Event("message_stop", w => w.WriteString("type", "message_stop")),
        };

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";

        var sentDeltas = reply.Ending == ReplyEnding.Normal ? deltas.Count : (int)(deltas.Count * reply.CutFraction);
        if (reply.Ending != ReplyEnding.Normal)
        {
            // A cut or failed stream: the server stopped generating what it had planned.
            generated(reply.OutputTokens);
        }

        var events = head.Concat(deltas.Take(sentDeltas));
        switch (reply.Ending)
        {
            case ReplyEnding.Normal:
                events = events.Concat(tail);
                break;
            case ReplyEnding.ErrorEvent:
                events = events.Append(Event("error", w =>
                {
                    w.WriteString("type", "error");
                    w.WriteStartObject("error");
                    w.WriteString("type", "overloaded_error");
                    w.WriteString("message", "Overloaded");
                    w.WriteEndObject();
                }));
                break;
            case ReplyEnding.ConnectionCut:
                // Promise the whole stream, send part, return: Kestrel flushes what was written and then closes the
                // connection because the length falls short. Abort() would race the unsent bytes and lose them.
                response.ContentLength = head.Concat(deltas).Concat(tail).Sum(e => (long)Encoding.UTF8.GetByteCount(e));
                break;
        }

        var pause = latency / (deltas.Count + tail.Count + 1);
        var sent = 0;
        long bytes = 0;
        var generatedAt = head.Count + sentDeltas;
        foreach (var item in events)
        {
            if (sent++ == generatedAt)
            {
                generated(reply.OutputTokens);
            }

            await DelayAsync(pause, token).ConfigureAwait(false);
            await response.WriteAsync(item, token).ConfigureAwait(false);
            await response.Body.FlushAsync(token).ConfigureAwait(false);
            bytes += Encoding.UTF8.GetByteCount(item);
        }

        return bytes;
    }

    /// <summary>
    /// Splits the text into deltas of 4–40 characters. About one boundary in three that has a backslash nearby is
    /// moved to just after it, so an escape like <c>\"</c> straddles two deltas as it does in real streams.
    /// </summary>
    internal static List<string> Chunk(string text, Random random)
    {
        var chunks = new List<string>();
        var position = 0;
        while (position < text.Length)
        {
            var length = Math.Min(4 + random.Next(37), text.Length - position);
            var backslash = text.IndexOf('\\', position, length);
            if (backslash >= 0 && random.Next(3) == 0)
            {
                length = backslash - position + 1;
            }

            if (position + length < text.Length && char.IsHighSurrogate(text[position + length - 1]))
            {
                length++;
            }

            chunks.Add(text.Substring(position, length));
            position += length;
        }

        return chunks;
    }

    internal static void WriteMessageHead(Utf8JsonWriter writer, SimulatedRequest request, string messageId)
    {
        writer.WriteString("id", messageId);
        writer.WriteString("type", "message");
        writer.WriteString("role", "assistant");
        writer.WriteString("model", request.Model);
    }

    internal static void WriteStopDetails(Utf8JsonWriter writer, SimulatedReply reply)
    {
        if (reply.StopReason != "refusal")
        {
            return;
        }

        writer.WriteStartObject("stop_details");
        writer.WriteString("type", "refusal");
        writer.WriteNull("category");
        writer.WriteString("explanation", "The response was stopped by a safety classifier.");
        writer.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter writer, SimulatedReply reply, int output, bool full)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", reply.InputTokens);
        if (full)
        {
            writer.WriteNumber("cache_creation_input_tokens", reply.CacheCreationInputTokens);
            writer.WriteNumber("cache_read_input_tokens", reply.CacheReadInputTokens);
        }

        writer.WriteNumber("output_tokens", output);
        if (full)
        {
            writer.WriteString("service_tier", "standard");
        }

        writer.WriteEndObject();
    }

    internal static async Task WriteErrorAsync(
        HttpContext context, int status, string type, string message, string requestId, CancellationToken token)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = Json(w =>
        {
            w.WriteString("type", "error");
            w.WriteStartObject("error");
            w.WriteString("type", type);
            w.WriteString("message", message);
            w.WriteEndObject();
            w.WriteString("request_id", requestId);
        });
        await context.Response.WriteAsync(body, token).ConfigureAwait(false);
    }

    private static string Event(string name, Action<Utf8JsonWriter> data) => $"event: {name}\ndata: {Json(data)}\n\n";

    internal static string Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WireJson))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>With a generation speed set, in proportion to the output; otherwise a draw between the two bounds.</summary>
    internal static TimeSpan Latency(SimulatorOptions options, Random random, int outputTokens) =>
        options.OutputTokensPerSecond > 0
            ? options.MinLatency + TimeSpan.FromSeconds(outputTokens / options.OutputTokensPerSecond)
            : options.MinLatency + ((options.MaxLatency - options.MinLatency) * random.NextDouble());

    private Task DelayAsync(TimeSpan delay, CancellationToken token) =>
        delay <= TimeSpan.Zero ? Task.CompletedTask : Task.Delay(delay, time, token);

    internal static string RandomId(Random random, int length) =>
        string.Create(length, random, static (span, r) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Base62[r.Next(Base62.Length)];
            }
        });
}
