using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>The input-token count of a request, or why it could not be had (the preview still shows the prompt).</summary>
public sealed record TokenCount(int? InputTokens, string? Error);

/// <summary>Counts a request's input tokens with POST /v1/messages/count_tokens, without generating anything.</summary>
public interface IClaudeTokenCounter
{
    /// <summary>Never throws for HTTP or transport faults: the result carries the error. Throws only when cancelled.</summary>
    Task<TokenCount> CountAsync(ClaudeRequest request, CancellationToken cancellationToken);
}

/// <summary>
/// A typed <see cref="HttpClient"/> for count_tokens. The body comes from <see cref="MessagesRequestBody"/>, the
/// same writer the generation uses, so the count is of the exact messages, system prompt and output schema a run sends.
/// One attempt, no retries: a preview can be asked again.
/// </summary>
public sealed partial class ClaudeTokenCounter : IClaudeTokenCounter
{
    private static readonly MediaTypeHeaderValue JsonContentType = new("application/json");

    private readonly HttpClient _http;
    private readonly ClaudeOptions _options;
    private readonly ILogger<ClaudeTokenCounter> _logger;
    private readonly Uri _endpoint;

    public ClaudeTokenCounter(HttpClient http, IOptions<ClaudeOptions> options, ILogger<ClaudeTokenCounter> logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options.Value;
        _logger = logger;
        _endpoint = new Uri(_options.BaseUrl.TrimEnd('/') + "/v1/messages/count_tokens", UriKind.Absolute);
    }

    public async Task<TokenCount> CountAsync(ClaudeRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var snapshot = MessagesRequestBody.Resolve(request, _options);
        var body = MessagesRequestBody.WriteCountTokens(snapshot, request.SystemPrompt);
        using var message = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            Content = new ByteArrayContent(body) { Headers = { ContentType = JsonContentType } },
        };
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            message.Headers.TryAddWithoutValidation("x-api-key", _options.ApiKey);
        }

        message.Headers.TryAddWithoutValidation("anthropic-version", ClaudeMessagesClient.AnthropicVersion);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CountTimeout);
        try
        {
            using var response = await _http.SendAsync(message, timeout.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var error = $"count_tokens answered {(int)response.StatusCode}: {ErrorMessage(text)}";
                Log.CountFailed(_logger, (int)response.StatusCode);
                return new TokenCount(null, error);
            }

            using var document = JsonDocument.Parse(text);
            return document.RootElement.TryGetProperty("input_tokens", out var tokens) && tokens.TryGetInt32(out var count)
                ? new TokenCount(count, null)
                : new TokenCount(null, "count_tokens answered without input_tokens.");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new TokenCount(null, $"count_tokens did not answer within {CountTimeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException ex)
        {
            Log.CountFailed(_logger, 0);
            return new TokenCount(null, "count_tokens could not be reached: " + ex.Message);
        }
        catch (JsonException)
        {
            return new TokenCount(null, "count_tokens answered with a body that is not JSON.");
        }
    }

    /// <summary>How long a count may take before the preview shows it as unavailable.</summary>
    public static readonly TimeSpan CountTimeout = TimeSpan.FromSeconds(15);

    private static string ErrorMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("error", out var error) && error.TryGetProperty("message", out var message))
            {
                return message.GetString() ?? "(no message)";
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's page): fall through to a short excerpt.
        }

        return body.Length > 200 ? body[..200] : body;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 7700, Level = LogLevel.Warning, Message = "count_tokens failed with HTTP status {Status} (0: no response)")]
        public static partial void CountFailed(ILogger logger, int status);
    }
}
