using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using BRun.Diagnostics.Core.Messages;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>The Message Batches API: create, retrieve, list, cancel, delete, and the results stream.</summary>
public interface IClaudeBatchesClient
{
    /// <summary>POST /v1/messages/batches. The body is streamed from <paramref name="requests"/>, never copied whole.</summary>
    /// <exception cref="ClaudeBatchApiException">The API answered with an error, or no answer arrived (then <see cref="ClaudeBatchApiException.OutcomeUnknown"/>).</exception>
    Task<MessageBatchInfo> CreateAsync(BatchRequestBody requests, CancellationToken ct);

    Task<MessageBatchInfo> RetrieveAsync(string batchId, CancellationToken ct);

    /// <summary>One page, newest first; pass the last id of a page as <paramref name="afterId"/> for the next.</summary>
    Task<MessageBatchPage> ListAsync(string? afterId, int limit, CancellationToken ct);

    Task<MessageBatchInfo> CancelAsync(string batchId, CancellationToken ct);

    Task DeleteAsync(string batchId, CancellationToken ct);

    /// <summary>Opens the JSONL results of an ended batch as a stream; the caller reads it line by line and disposes it.</summary>
    Task<BatchResultsDownload> OpenResultsAsync(string batchId, string? resultsUrl, CancellationToken ct);
}

/// <summary>A batch as the API describes it.</summary>
public sealed record MessageBatchInfo
{
    public required string Id { get; init; }

    /// <summary><c>in_progress</c>, <c>canceling</c> or <c>ended</c>.</summary>
    public required string ProcessingStatus { get; init; }
    public int Processing { get; init; }
    public int Succeeded { get; init; }
    public int Errored { get; init; }
    public int Canceled { get; init; }
    public int Expired { get; init; }
    public DateTimeOffset? CreatedAt { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }
    public DateTimeOffset? CancelInitiatedAt { get; init; }
    public DateTimeOffset? ArchivedAt { get; init; }
    public string? ResultsUrl { get; init; }

    /// <summary>The <c>request-id</c> header of the call that returned this.</summary>
    public string? RequestId { get; init; }

    public int Total => Processing + Succeeded + Errored + Canceled + Expired;

    public bool HasEnded => ProcessingStatus == "ended";
}

public sealed record MessageBatchPage(IReadOnlyList<MessageBatchInfo> Data, bool HasMore, string? LastId);

/// <summary>An open results download. Dispose it to release the connection.</summary>
public sealed class BatchResultsDownload(Stream content, string? requestId, bool simulated, IDisposable response) : IAsyncDisposable
{
    public Stream Content { get; } = content;
    public string? RequestId { get; } = requestId;

    /// <summary>The download carried <c>x-brun-simulated: true</c>: every result in it came from the simulator.</summary>
    public bool Simulated { get; } = simulated;

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync().ConfigureAwait(false);
        response.Dispose();
    }
}

/// <summary>An error answer of the Batches API (or no answer at all).</summary>
public sealed class ClaudeBatchApiException : Exception
{
    public ClaudeBatchApiException()
    {
    }

    public ClaudeBatchApiException(string message)
        : base(message)
    {
    }

    public ClaudeBatchApiException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public ClaudeBatchApiException(int status, string? errorType, string message, string? requestId, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
        ErrorType = errorType;
        RequestId = requestId;
    }

    /// <summary>HTTP status; 0 when no response arrived.</summary>
    public int Status { get; }
    public string? ErrorType { get; }
    public string? RequestId { get; }

    /// <summary>No response arrived (timeout, connection reset): a POST may or may not have created the batch.</summary>
    public bool OutcomeUnknown => Status == 0 || Status >= 500 && Status != 529;

    /// <summary>Worth trying again later: no answer, 408, 409, 429, 5xx, 529.</summary>
    public bool IsTransient => Status is 0 or 408 or 409 or 429 or >= 500;
}

/// <summary>
/// A typed <see cref="HttpClient"/> over /v1/messages/batches with the same headers as the Messages client. It does
/// not retry: the coordinator's poll loop is the retry (with shared backoff), and a create must never be repeated
/// blindly (see <see cref="ClaudeBatchApiException.OutcomeUnknown"/>).
/// </summary>
public sealed partial class ClaudeBatchesClient : IClaudeBatchesClient
{
    private const string AnthropicVersion = "2023-06-01";

    private readonly HttpClient _http;
    private readonly ClaudeOptions _options;
    private readonly ILogger<ClaudeBatchesClient> _logger;
    private readonly string _root;

    public ClaudeBatchesClient(HttpClient http, IOptions<ClaudeOptions> options, ILogger<ClaudeBatchesClient> logger)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _options = options.Value;
        _logger = logger;
        _root = _options.BaseUrl.TrimEnd('/') + "/v1/messages/batches";
    }

    public async Task<MessageBatchInfo> CreateAsync(BatchRequestBody requests, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(requests);
        using var message = NewRequest(HttpMethod.Post, _root);
        message.Content = requests.ToContent();
        var batch = await SendForBatchAsync(message, ct).ConfigureAwait(false);
        Log.BatchCreated(_logger, batch.Id, requests.Count, requests.Length, batch.RequestId);
        return batch;
    }

    public async Task<MessageBatchInfo> RetrieveAsync(string batchId, CancellationToken ct)
    {
        using var message = NewRequest(HttpMethod.Get, $"{_root}/{Uri.EscapeDataString(batchId)}");
        return await SendForBatchAsync(message, ct).ConfigureAwait(false);
    }

    public async Task<MessageBatchPage> ListAsync(string? afterId, int limit, CancellationToken ct)
    {
        var url = $"{_root}?limit={limit.ToString(CultureInfo.InvariantCulture)}" + (afterId is null ? string.Empty : $"&after_id={Uri.EscapeDataString(afterId)}");
        using var message = NewRequest(HttpMethod.Get, url);
        using var response = await SendAsync(message, ct).ConfigureAwait(false);
        var requestId = RequestIdOf(response);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var data = root.GetProperty("data").EnumerateArray().Select(e => ReadBatch(e, requestId)).ToList();
        var hasMore = root.TryGetProperty("has_more", out var more) && more.ValueKind == JsonValueKind.True;
        var lastId = root.TryGetProperty("last_id", out var last) && last.ValueKind == JsonValueKind.String ? last.GetString() : null;
        return new MessageBatchPage(data, hasMore, lastId);
    }

    public async Task<MessageBatchInfo> CancelAsync(string batchId, CancellationToken ct)
    {
        using var message = NewRequest(HttpMethod.Post, $"{_root}/{Uri.EscapeDataString(batchId)}/cancel");
        var batch = await SendForBatchAsync(message, ct).ConfigureAwait(false);
        Log.BatchCancelRequested(_logger, batchId, batch.ProcessingStatus, batch.RequestId);
        return batch;
    }

    public async Task DeleteAsync(string batchId, CancellationToken ct)
    {
        using var message = NewRequest(HttpMethod.Delete, $"{_root}/{Uri.EscapeDataString(batchId)}");
        using var response = await SendAsync(message, ct).ConfigureAwait(false);
    }

    public async Task<BatchResultsDownload> OpenResultsAsync(string batchId, string? resultsUrl, CancellationToken ct)
    {
        // The docs say not to assume the results path; use results_url when the batch gave one.
        var url = resultsUrl ?? $"{_root}/{Uri.EscapeDataString(batchId)}/results";
        using var message = NewRequest(HttpMethod.Get, url);
        var response = await SendAsync(message, ct).ConfigureAwait(false);
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            var simulated = response.Headers.TryGetValues(CapturedBody.SimulatedHeader, out var values)
                && values.Any(v => string.Equals(v.Trim(), "true", StringComparison.OrdinalIgnoreCase));
            return new BatchResultsDownload(stream, RequestIdOf(response), simulated, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private async Task<MessageBatchInfo> SendForBatchAsync(HttpRequestMessage message, CancellationToken ct)
    {
        using var response = await SendAsync(message, ct).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        using var document = JsonDocument.Parse(body);
        return ReadBatch(document.RootElement, RequestIdOf(response));
    }

    private HttpRequestMessage NewRequest(HttpMethod method, string url)
    {
        var message = new HttpRequestMessage(method, new Uri(url, UriKind.Absolute));
        if (!string.IsNullOrEmpty(_options.ApiKey))
        {
            message.Headers.TryAddWithoutValidation("x-api-key", _options.ApiKey);
        }

        message.Headers.TryAddWithoutValidation("anthropic-version", AnthropicVersion);
        message.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        return message;
    }

    /// <summary>Sends with the per-call timeout; turns error answers and missing answers into <see cref="ClaudeBatchApiException"/>.</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage message, CancellationToken ct)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
        {
            throw new ClaudeBatchApiException(0, null, $"{message.Method} {Path(message)}: no response within {_options.Timeout}.", null, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new ClaudeBatchApiException(0, null, $"{message.Method} {Path(message)}: {Scrub(ex.Message)}", null, ex);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var requestId = RequestIdOf(response);
            var body = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
            string? type = null;
            var text = body;
            try
            {
                using var document = JsonDocument.Parse(body);
                if (document.RootElement.TryGetProperty("error", out var error))
                {
                    type = error.TryGetProperty("type", out var t) ? t.GetString() : null;
                    text = error.TryGetProperty("message", out var m) ? m.GetString() ?? body : body;
                }
            }
            catch (JsonException)
            {
                // A proxy's HTML page: keep its text.
            }

            var status = (int)response.StatusCode;
            Log.BatchCallFailed(_logger, message.Method.Method, Path(message), status, type, requestId);
            throw new ClaudeBatchApiException(status, type, $"{message.Method} {Path(message)}: HTTP {status} {type}: {Shorten(text)}", requestId);
        }
    }

    internal static MessageBatchInfo ReadBatch(JsonElement e, string? requestId)
    {
        var counts = e.TryGetProperty("request_counts", out var c) ? c : default;
        return new MessageBatchInfo
        {
            Id = e.GetProperty("id").GetString()!,
            ProcessingStatus = e.GetProperty("processing_status").GetString()!,
            Processing = Count(counts, "processing"),
            Succeeded = Count(counts, "succeeded"),
            Errored = Count(counts, "errored"),
            Canceled = Count(counts, "canceled"),
            Expired = Count(counts, "expired"),
            CreatedAt = Time(e, "created_at"),
            ExpiresAt = Time(e, "expires_at"),
            EndedAt = Time(e, "ended_at"),
            CancelInitiatedAt = Time(e, "cancel_initiated_at"),
            ArchivedAt = Time(e, "archived_at"),
            ResultsUrl = e.TryGetProperty("results_url", out var url) && url.ValueKind == JsonValueKind.String ? url.GetString() : null,
            RequestId = requestId,
        };

        static int Count(JsonElement counts, string name) =>
            counts.ValueKind == JsonValueKind.Object && counts.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : 0;

        static DateTimeOffset? Time(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
                && DateTimeOffset.TryParse(v.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t
                : null;
    }

    private static string? RequestIdOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("request-id", out var values) ? values.FirstOrDefault() : null;

    private static string Path(HttpRequestMessage message) => message.RequestUri?.AbsolutePath ?? string.Empty;

    private static string Shorten(string text) => text.Length <= 500 ? text : text[..500];

    private string Scrub(string text) =>
        string.IsNullOrEmpty(_options.ApiKey) ? text : text.Replace(_options.ApiKey, "[redacted]", StringComparison.Ordinal);

    private static partial class Log
    {
        [LoggerMessage(EventId = 7100, Level = LogLevel.Information, Message = "Message batch {BatchId} created with {Count} requests ({Bytes} bytes), request-id {RequestId}")]
        public static partial void BatchCreated(ILogger logger, string batchId, int count, long bytes, string? requestId);

        [LoggerMessage(EventId = 7101, Level = LogLevel.Information, Message = "Cancel of message batch {BatchId} requested: {Status}, request-id {RequestId}")]
        public static partial void BatchCancelRequested(ILogger logger, string batchId, string status, string? requestId);

        [LoggerMessage(EventId = 7102, Level = LogLevel.Warning, Message = "Batches API {Method} {Path} answered HTTP {Status} {ErrorType}, request-id {RequestId}")]
        public static partial void BatchCallFailed(ILogger logger, string method, string path, int status, string? errorType, string? requestId);
    }
}

/// <summary>
/// The body of a batch create: <c>{"requests":[{"custom_id","params"},...]}</c>, kept as one serialized item per
/// request so the coordinator can measure it against the 256 MB limit as it adds requests, and sent as a stream.
/// </summary>
public sealed class BatchRequestBody
{
    private static readonly byte[] Head = "{\"requests\":["u8.ToArray();
    private static readonly byte[] Tail = "]}"u8.ToArray();
    private static readonly byte[] Comma = ","u8.ToArray();
    private readonly List<byte[]> _items = [];

    /// <summary>Bytes of the whole body so far.</summary>
    public long Length { get; private set; } = Head.Length + Tail.Length;

    public int Count => _items.Count;

    /// <summary>How many bytes adding this request would add.</summary>
    public static long SizeOf(byte[] item)
    {
        ArgumentNullException.ThrowIfNull(item);
        return item.Length + 1;
    }

    /// <param name="customId">Unique in the batch; <c>^[a-zA-Z0-9_-]{1,64}$</c>.</param>
    /// <param name="messagesParams">A non-streaming Messages request body.</param>
    public static byte[] Item(string customId, byte[] messagesParams)
    {
        ArgumentNullException.ThrowIfNull(customId);
        ArgumentNullException.ThrowIfNull(messagesParams);
        using var buffer = new MemoryStream(messagesParams.Length + customId.Length + 32);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("custom_id", customId);
            writer.WritePropertyName("params");
            writer.WriteRawValue(messagesParams, skipInputValidation: true);
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    public void Add(byte[] item)
    {
        ArgumentNullException.ThrowIfNull(item);
        Length += _items.Count == 0 ? item.Length : item.Length + 1;
        _items.Add(item);
    }

    internal HttpContent ToContent() => new BodyContent(this);

    private sealed class BodyContent : HttpContent
    {
        private readonly BatchRequestBody _body;

        public BodyContent(BatchRequestBody body)
        {
            _body = body;
            Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            await stream.WriteAsync(Head).ConfigureAwait(false);
            for (var i = 0; i < _body._items.Count; i++)
            {
                if (i > 0)
                {
                    await stream.WriteAsync(Comma).ConfigureAwait(false);
                }

                await stream.WriteAsync(_body._items[i]).ConfigureAwait(false);
            }

            await stream.WriteAsync(Tail).ConfigureAwait(false);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _body.Length;
            return true;
        }
    }
}
