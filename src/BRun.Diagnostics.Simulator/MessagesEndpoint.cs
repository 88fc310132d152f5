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

        if (_options.RequireApiKey && string.IsNullOrEmpty(context.Request.Headers["x-api-key"]))
        {
            await WriteErrorAsync(context, 401, "authentication_error", "x-api-key header is required", requestId, token).ConfigureAwait(false);
            return;
        }

        var (request, problem) = await ReadRequestAsync(context.Request, token).ConfigureAwait(false);
        if (request is null)
        {
            await WriteErrorAsync(context, 400, "invalid_request_error", problem!, requestId, token).ConfigureAwait(false);
            return;
        }

        var scenario = SimulatorScenarioPicker.Pick(request.Prompt, _options, request.Stream);
        var attempt = state.NextAttempt(request.Prompt);
        var reply = ReplyPlanner.Plan(request, scenario, attempt, _options);
        Log.Reply(logger, requestId, reply.Scenario, attempt, reply.Status, reply.StopReason, reply.OutputTokens, request.MaxTokens, request.Stream);

        WriteRateLimitHeaders(context.Response, reply.Status == 429);
        var wireRandom = new Random(reply.WireSeed);
        var latency = Latency(wireRandom);

        if (reply.Html)
        {
            await DelayAsync(latency, token).ConfigureAwait(false);
            context.Response.StatusCode = reply.Status;
            context.Response.ContentType = "text/html";
            await context.Response.WriteAsync(BadGatewayPage, token).ConfigureAwait(false);
            return;
        }

        if (reply.ErrorType is not null)
        {
            if (reply.SendRetryAfter)
            {
                context.Response.Headers["retry-after"] = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            }

            await WriteErrorAsync(context, reply.Status, reply.ErrorType, reply.ErrorMessage ?? reply.ErrorType, requestId, token).ConfigureAwait(false);
            return;
        }

        var messageId = "msg_01" + RandomId(wireRandom, 22);
        if (request.Stream)
        {
            await WriteStreamAsync(context, request, reply, messageId, wireRandom, latency, token).ConfigureAwait(false);
        }
        else
        {
            await WriteMessageAsync(context, request, reply, messageId, latency, token).ConfigureAwait(false);
        }
    }

    private static async Task<(SimulatedRequest? Request, string? Problem)> ReadRequestAsync(HttpRequest http, CancellationToken token)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(http.Body, cancellationToken: token).ConfigureAwait(false);
        }
        catch (JsonException ex)
        {
            return (null, $"The request body is not valid JSON: {ex.Message}");
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
        foreach (var message in messages.EnumerateArray())
        {
            if (message.TryGetProperty("role", out var role) && role.ValueEquals("user")
                && message.TryGetProperty("content", out var content))
            {
                AppendText(prompt, content);
            }
        }

        var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "claude-sonnet-4-5";
        var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
        var system = new StringBuilder();
        if (root.TryGetProperty("system", out var systemElement))
        {
            AppendText(system, systemElement);
        }

        return (new SimulatedRequest(model, max, stream, prompt.ToString(), system.Length == 0 ? null : system.ToString()), null);
    }

    private static void AppendText(StringBuilder target, JsonElement content)
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

    private async Task WriteMessageAsync(
        HttpContext context, SimulatedRequest request, SimulatedReply reply, string messageId, TimeSpan latency, CancellationToken token)
    {
        await DelayAsync(latency, token).ConfigureAwait(false);
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
            WriteUsage(writer, reply.InputTokens, reply.OutputTokens, full: true);
        }));

        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        var send = reply.Ending == ReplyEnding.ConnectionCut ? (int)(body.Length * reply.CutFraction) : body.Length;
        await context.Response.Body.WriteAsync(body.AsMemory(0, send), token).ConfigureAwait(false);
    }

    private async Task WriteStreamAsync(
        HttpContext context, SimulatedRequest request, SimulatedReply reply, string messageId, Random random, TimeSpan latency, CancellationToken token)
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
                WriteUsage(w, reply.InputTokens, 1, full: true);
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
                WriteUsage(w, reply.InputTokens, reply.OutputTokens, full: false);
            }),
            Event("message_stop", w => w.WriteString("type", "message_stop")),
        };

        var response = context.Response;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream; charset=utf-8";
        response.Headers.CacheControl = "no-cache";

        var sentDeltas = reply.Ending == ReplyEnding.Normal ? deltas.Count : (int)(deltas.Count * reply.CutFraction);
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
        foreach (var item in events)
        {
            await DelayAsync(pause, token).ConfigureAwait(false);
            await response.WriteAsync(item, token).ConfigureAwait(false);
            await response.Body.FlushAsync(token).ConfigureAwait(false);
        }
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

    private static void WriteUsage(Utf8JsonWriter writer, int input, int output, bool full)
    {
        writer.WriteStartObject("usage");
        writer.WriteNumber("input_tokens", input);
        if (full)
        {
            writer.WriteNumber("cache_creation_input_tokens", 0);
            writer.WriteNumber("cache_read_input_tokens", 0);
        }

        writer.WriteNumber("output_tokens", output);
        if (full)
        {
            writer.WriteString("service_tier", "standard");
        }

        writer.WriteEndObject();
    }

    private void WriteRateLimitHeaders(HttpResponse response, bool exhausted)
    {
        var reset = time.GetUtcNow().AddSeconds(60).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var headers = response.Headers;
        headers["anthropic-ratelimit-requests-limit"] = "50";
        headers["anthropic-ratelimit-requests-remaining"] = exhausted ? "0" : "49";
        headers["anthropic-ratelimit-requests-reset"] = reset;
        headers["anthropic-ratelimit-input-tokens-limit"] = "30000";
        headers["anthropic-ratelimit-input-tokens-remaining"] = exhausted ? "0" : "28000";
        headers["anthropic-ratelimit-input-tokens-reset"] = reset;
        headers["anthropic-ratelimit-output-tokens-limit"] = "8000";
        headers["anthropic-ratelimit-output-tokens-remaining"] = exhausted ? "0" : "7000";
        headers["anthropic-ratelimit-output-tokens-reset"] = reset;
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

    private TimeSpan Latency(Random random) =>
        _options.MinLatency + ((_options.MaxLatency - _options.MinLatency) * random.NextDouble());

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
