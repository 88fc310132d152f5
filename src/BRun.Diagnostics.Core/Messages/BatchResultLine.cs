using System.Globalization;
using System.Text.Json;

namespace BRun.Diagnostics.Core.Messages;

/// <summary>The <c>result.type</c> values of a Message Batches results line.</summary>
public static class BatchResultType
{
    public const string Succeeded = "succeeded";
    public const string Errored = "errored";
    public const string Canceled = "canceled";
    public const string Expired = "expired";

    /// <summary>
    /// Ours, not the API's: the results file had no readable line for the request (none at all, or one that could not
    /// be read). A task is sent again for it until it is out of deliveries, then fails with this as its result type.
    /// </summary>
    public const string Missing = "missing";
}

/// <summary>
/// One line of a Message Batches results file, <c>{"custom_id", "result": {"type", "message" | "error"}}</c>. The whole
/// line is kept as the raw body for the report; the message (or error) inside it is parsed exactly as an online body is.
/// </summary>
public sealed record BatchResultLine
{
    public required string CustomId { get; init; }

    /// <summary>See <see cref="BatchResultType"/>; unknown values are kept verbatim.</summary>
    public required string ResultType { get; init; }

    /// <summary>The line as received.</summary>
    public required string RawLine { get; init; }

    /// <summary>The <c>message</c> of a succeeded result, or the error body of an errored one; null otherwise.</summary>
    public ParsedMessage? Parsed { get; init; }

    /// <summary>The inner <c>error.type</c> of an errored result (<c>invalid_request_error</c>, <c>overloaded_error</c>, …).</summary>
    public string? ErrorType { get; init; }

    /// <summary>
    /// An errored result worth resubmitting: the API's overload or internal errors, rate limits and timeouts.
    /// Everything else (invalid request, authentication, permission, not found, size) fails the same way again.
    /// </summary>
    public bool IsTransientError => ResultType == BatchResultType.Errored
        && ErrorType is "overloaded_error" or "api_error" or "rate_limit_error" or "timeout_error";

    /// <summary>The HTTP status the same error would have had online (for the report's http_status).</summary>
    public int EquivalentHttpStatus => ResultType == BatchResultType.Succeeded ? 200 : ErrorType switch
    {
        "invalid_request_error" => 400,
        "authentication_error" => 401,
        "billing_error" => 402,
        "permission_error" => 403,
        "not_found_error" => 404,
        "request_too_large" => 413,
        "rate_limit_error" => 429,
        "timeout_error" => 504,
        "overloaded_error" => 529,
        "api_error" => 500,
        _ => 0,
    };

    /// <summary>Parses one line. Throws <see cref="FormatException"/> when the line is not a results line at all.</summary>
    public static BatchResultLine Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("custom_id", out var customId) || customId.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("result", out var result) || result.ValueKind != JsonValueKind.Object
                || !result.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw new FormatException("A results line needs custom_id and result.type.");
            }

            var resultType = type.GetString()!;
            ParsedMessage? parsed = null;
            string? errorType = null;
            if (resultType == BatchResultType.Succeeded && result.TryGetProperty("message", out var message))
            {
                parsed = MessageBodyParser.Parse(message.GetRawText());
            }
            else if (resultType == BatchResultType.Errored && result.TryGetProperty("error", out var error))
            {
                parsed = MessageBodyParser.Parse(error.GetRawText());
                errorType = parsed.ErrorType;
            }

            return new BatchResultLine
            {
                CustomId = customId.GetString()!,
                ResultType = resultType,
                RawLine = line,
                Parsed = parsed,
                ErrorType = errorType,
            };
        }
        catch (JsonException ex)
        {
            throw new FormatException($"A results line is not JSON: {ex.Message}", ex);
        }
    }

    /// <summary>The custom_id we send for a task's delivery: <c>t{task id, 32 hex}-{attempt}</c> (≤ 64 characters).</summary>
    public static string CustomIdFor(Guid taskId, int attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"t{taskId:N}-{attempt}");

    /// <summary>Reads a custom_id made by <see cref="CustomIdFor"/>; false for anyone else's.</summary>
    public static bool TryReadCustomId(string customId, out Guid taskId, out int attempt)
    {
        taskId = Guid.Empty;
        attempt = 0;
        return customId is { Length: >= 35 } && customId[0] == 't' && customId[33] == '-'
            && Guid.TryParseExact(customId.AsSpan(1, 32), "N", out taskId)
            && int.TryParse(customId.AsSpan(34), NumberStyles.None, CultureInfo.InvariantCulture, out attempt);
    }
}
