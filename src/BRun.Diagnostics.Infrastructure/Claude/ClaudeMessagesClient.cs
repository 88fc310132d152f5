using System.Net.Http.Headers;
using System.Text;
using BRun.Diagnostics.Core.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// A thin typed <see cref="HttpClient"/> over POST /v1/messages that keeps the response byte-exact: JSON bodies as
/// received, SSE streams as the full transcript (also when the connection drops mid-way), plus the headers that
/// explain failures. Transient HTTP faults are retried by a Polly pipeline; content is judged elsewhere.
/// </summary>
public sealed class ClaudeMessagesClient : IClaudeMessagesClient
{
    internal const string AnthropicVersion = "2023-06-01";
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _http;
    private readonly ClaudeOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ClaudeMessagesClient> _logger;
    private readonly ResiliencePipeline<ClaudeAttempt> _pipeline;
    private readonly Uri _endpoint;
    private readonly IClaudeResponseHeadObserver[] _observers;

    public ClaudeMessagesClient(
        HttpClient http,
        IOptions<ClaudeOptions> options,
        TimeProvider time,
        ILogger<ClaudeMessagesClient> logger,
        IEnumerable<IClaudeResponseHeadObserver>? observers = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _endpoint = new Uri(_options.BaseUrl.TrimEnd('/') + "/v1/messages", UriKind.Absolute);
        _pipeline = BuildPipeline();
        _observers = observers?.ToArray() ?? [];
    }

    public async Task<CapturedResponse> SendAsync(ClaudeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var snapshot = MessagesRequestBody.Resolve(request, _options);
        var body = MessagesRequestBody.Write(snapshot, request.SystemPrompt, request.CachePrefixLength);

        var attempts = 0;
        var last = await _pipeline.ExecuteAsync(
            async token =>
            {
                attempts++;
                return await AttemptAsync(body, snapshot.Model, snapshot.Stream, token).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);

        var captured = ToCaptured(last, snapshot, attempts);
        LogOutcome(captured);
        return captured;
    }

    private ResiliencePipeline<ClaudeAttempt> BuildPipeline()
    {
        if (_options.MaxRetryAttempts == 0)
        {
            return ResiliencePipeline<ClaudeAttempt>.Empty;
        }

        return new ResiliencePipelineBuilder<ClaudeAttempt> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<ClaudeAttempt>
            {
                MaxRetryAttempts = _options.MaxRetryAttempts,
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Result is { } attempt && ClaudeRetryRules.ShouldRetry(attempt, args.AttemptNumber, _options.RetryHttpErrors)),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(
                    (args.Outcome.Result is { } attempt
                        ? ClaudeRetryRules.RetryAfter(attempt, _options.MaxRetryAfter, _time.GetUtcNow())
                        : null)
                    ?? ClaudeRetryRules.Backoff(args.AttemptNumber, _options.BaseDelay, _options.MaxDelay, Random.Shared.NextDouble())),
                OnRetry = args =>
                {
                    var attempt = args.Outcome.Result;
                    Log.ClaudeRetrying(
                        _logger,
                        args.AttemptNumber + 1,
                        attempt?.HttpStatus ?? 0,
                        attempt?.Transport ?? TransportFailure.None,
                        attempt?.RequestId,
                        args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private async Task<ClaudeAttempt> AttemptAsync(byte[] body, string model, bool stream, CancellationToken callerToken)
    {
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(callerToken, timeout.Token);
        var started = _time.GetTimestamp();

        using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } },
        };
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            message.Headers.TryAddWithoutValidation("x-api-key", _options.ApiKey);
        }

        message.Headers.TryAddWithoutValidation("anthropic-version", AnthropicVersion);
        message.Headers.Accept.ParseAdd(stream ? "text/event-stream" : "application/json");

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!callerToken.IsCancellationRequested)
        {
            return NoResponse(TransportFailure.Timeout, $"No response within the per-attempt timeout of {_options.Timeout}.", started);
        }
        catch (HttpRequestException ex)
        {
            return NoResponse(TransportFailure.ConnectionFailed, Scrub(ex.Message), started);
        }

        using (response)
        {
            var headers = CaptureHeaders(response);
            foreach (var observer in _observers)
            {
                await observer.OnResponseHeadAsync(model, (int)response.StatusCode, headers.Kept, linked.Token).ConfigureAwait(false);
            }

            var read = await ReadBodyAsync(response.Content, linked.Token, callerToken).ConfigureAwait(false);
            return new ClaudeAttempt
            {
                Simulated = headers.Simulated,
                HttpStatus = (int)response.StatusCode,
                RawBody = read.Text,
                MediaType = response.Content.Headers.ContentType?.MediaType,
                RequestId = headers.RequestId,
                Headers = headers.Kept,
                Transport = read.Transport,
                TransportError = read.Error,
                Duration = _time.GetElapsedTime(started),
            };
        }
    }

    private ClaudeAttempt NoResponse(TransportFailure failure, string error, long started) => new()
    {
        HttpStatus = 0,
        RawBody = string.Empty,
        Transport = failure,
        TransportError = error,
        Duration = _time.GetElapsedTime(started),
    };

    private readonly record struct BodyRead(string Text, TransportFailure Transport, string? Error);

    /// <summary>
    /// Reads to the end, keeping every byte that arrived even when the connection drops or the attempt times out
    /// mid-body: a cut transcript is the evidence. Stops at <see cref="ClaudeOptions.MaxBodyBytes"/>.
    /// </summary>
    private async Task<BodyRead> ReadBodyAsync(HttpContent content, CancellationToken token, CancellationToken callerToken)
    {
        var max = _options.MaxBodyBytes;
        using var kept = new MemoryStream();
        var buffer = new byte[16 * 1024];
        var transport = TransportFailure.None;
        string? error = null;
        try
        {
            var source = await content.ReadAsStreamAsync(token).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                while (true)
                {
                    var room = (int)Math.Min(buffer.Length, (long)max - kept.Length + 1);
                    var read = await source.ReadAsync(buffer.AsMemory(0, room), token).ConfigureAwait(false);
                    if (read == 0)
                    {
                        break;
                    }

                    if (kept.Length + read > max)
                    {
                        kept.Write(buffer, 0, (int)(max - kept.Length));
                        error = $"The body exceeded MaxBodyBytes ({max}); only the first {max} bytes were kept (truncated by this client).";
                        break;
                    }

                    kept.Write(buffer, 0, read);
                }
            }
        }
        catch (OperationCanceledException) when (!callerToken.IsCancellationRequested)
        {
            transport = TransportFailure.Timeout;
            error = $"The per-attempt timeout of {_options.Timeout} ran out after {kept.Length} bytes of the body; the bytes that arrived are kept.";
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // The response head arrived, so this stays a response: the parser reports the cut from the transcript.
            error = $"The connection closed after {kept.Length} bytes of the body: {Scrub(ex.Message)}";
        }

        return new BodyRead(Encoding.UTF8.GetString(kept.GetBuffer(), 0, (int)kept.Length), transport, error);
    }

    private static (string? RequestId, Dictionary<string, string> Kept, bool Simulated) CaptureHeaders(HttpResponseMessage response)
    {
        string? requestId = null;
        var simulated = false;
        var kept = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, values) in response.Headers.NonValidated)
        {
            var lower = name.ToLowerInvariant();
            var value = string.Join(", ", values);
            if (lower == "request-id")
            {
                requestId = value;
            }
            else if (lower == CapturedBody.SimulatedHeader)
            {
                simulated = string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
            }
            else if (lower.StartsWith("anthropic-ratelimit-", StringComparison.Ordinal)
                || lower is "retry-after" or "retry-after-ms" or "x-should-retry")
            {
                kept[lower] = value;
            }
        }

        return (requestId, kept, simulated);
    }

    private static CapturedResponse ToCaptured(ClaudeAttempt attempt, RequestSnapshot snapshot, int attempts)
    {
        var streamed = attempt.ResponseArrived && CapturedBody.IsStream(attempt.MediaType, attempt.RawBody);
        return new CapturedResponse
        {
            HttpStatus = attempt.HttpStatus,
            RawBody = attempt.RawBody,
            Streamed = streamed,
            Parsed = CapturedBody.Parse(attempt.HttpStatus, attempt.RawBody, streamed, attempt.TransportError),
            RequestId = attempt.RequestId,
            RateLimitHeaders = attempt.Headers,
            Duration = attempt.Duration,
            Attempts = attempts,
            Transport = attempt.Transport,
            TransportError = attempt.TransportError,
            Request = snapshot,
            Simulated = attempt.Simulated,
        };
    }

    private void LogOutcome(CapturedResponse captured)
    {
        if (captured.HttpStatus == 0)
        {
            Log.ClaudeNoResponse(_logger, captured.Transport, captured.Attempts, captured.TransportError);
            return;
        }

        var parsed = captured.Parsed;
        Log.ClaudeResponse(
            _logger,
            captured.RequestId,
            captured.HttpStatus,
            parsed.StopReason,
            parsed.Usage.OutputTokens,
            captured.Request.MaxTokens,
            captured.Attempts,
            captured.Duration);

        if (parsed.StopReason is "max_tokens" or "model_context_window_exceeded"
            || parsed.StreamOutcome is StreamOutcome.CutBeforeMessageStop or StreamOutcome.ErrorEvent)
        {
            Log.ClaudeResponseCut(
                _logger,
                captured.RequestId,
                parsed.StopReason,
                parsed.StreamOutcome,
                parsed.Usage.OutputTokens,
                captured.Request.MaxTokens);
        }
    }

    /// <summary>Exception texts should never carry the key, but a proxy can echo headers back.</summary>
    private string Scrub(string text) =>
        string.IsNullOrEmpty(_options.ApiKey) ? text : text.Replace(_options.ApiKey, "[redacted]", StringComparison.Ordinal);
}
