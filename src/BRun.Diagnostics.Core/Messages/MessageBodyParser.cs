using System.Text;
using System.Text.Json;

namespace BRun.Diagnostics.Core.Messages;

/// <summary>Reads a non-streamed Messages API body. Never throws on bad input: the result says what the body was.</summary>
public static class MessageBodyParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    public static ParsedMessage Parse(string? body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return new ParsedMessage { Kind = BodyKind.Empty, ParseProblem = "The response body is empty." };
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException ex)
        {
            return new ParsedMessage
            {
                Kind = BodyKind.NotJson,
                ParseProblem = $"The response body is not JSON ({Describe(ex)}); it starts with: {Preview(body)}",
            };
        }

        using (document)
        {
            return FromElement(document.RootElement);
        }
    }

    /// <summary>Reads a message or error object that is already parsed (also used for SSE <c>message_start</c>).</summary>
    internal static ParsedMessage FromElement(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            return new ParsedMessage
            {
                Kind = BodyKind.UnexpectedShape,
                ParseProblem = $"Expected a JSON object, got {root.ValueKind}.",
            };
        }

        var type = GetString(root, "type");
        if (type == "error")
        {
            return ReadError(root);
        }

        if (type != "message")
        {
            return new ParsedMessage
            {
                Kind = BodyKind.UnexpectedShape,
                ParseProblem = type is null
                    ? "The JSON object has no \"type\" field; it is not a Messages API body."
                    : $"Unexpected body type \"{type}\".",
            };
        }

        var text = new StringBuilder();
        var blockTypes = new List<string>();
        if (root.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array)
        {
            foreach (var block in content.EnumerateArray())
            {
                var blockType = GetString(block, "type") ?? "(untyped)";
                blockTypes.Add(blockType);
                if (blockType == "text" && GetString(block, "text") is { } blockText)
                {
                    text.Append(blockText);
                }
            }
        }

        string? category = null, explanation = null;
        if (root.TryGetProperty("stop_details", out var details) && details.ValueKind == JsonValueKind.Object)
        {
            category = GetString(details, "category");
            explanation = GetString(details, "explanation");
        }

        return new ParsedMessage
        {
            Kind = BodyKind.Message,
            Id = GetString(root, "id"),
            Model = GetString(root, "model"),
            StopReason = GetString(root, "stop_reason"),
            StopSequence = GetString(root, "stop_sequence"),
            StopDetailsCategory = category,
            StopDetailsExplanation = explanation,
            Usage = ReadUsage(root),
            Text = text.ToString(),
            ContentBlockTypes = blockTypes,
        };
    }

    internal static ParsedMessage ReadError(JsonElement root)
    {
        string? errorType = null, message = null;
        if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
        {
            errorType = GetString(error, "type");
            message = GetString(error, "message");
        }

        return new ParsedMessage
        {
            Kind = BodyKind.ApiError,
            ErrorType = errorType ?? "unknown_error",
            ErrorMessage = message,
            BodyRequestId = GetString(root, "request_id"),
        };
    }

    internal static Usage ReadUsage(JsonElement root)
    {
        if (!root.TryGetProperty("usage", out var usage) || usage.ValueKind != JsonValueKind.Object)
        {
            return Usage.None;
        }

        return new Usage(
            GetInt(usage, "input_tokens"),
            GetInt(usage, "output_tokens"),
            GetInt(usage, "cache_creation_input_tokens"),
            GetInt(usage, "cache_read_input_tokens"));
    }

    internal static string? GetString(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object
        && element.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    internal static int? GetInt(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object
        && element.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.Number
        && value.TryGetInt32(out var number)
            ? number
            : null;

    internal static string Describe(JsonException ex) =>
        ex.LineNumber is { } line
            ? $"{FirstSentence(ex.Message)} at line {line + 1}, byte {ex.BytePositionInLine + 1}"
            : FirstSentence(ex.Message);

    internal static string Preview(string body)
    {
        const int Max = 120;
        var trimmed = body.TrimStart();
        var preview = trimmed.Length <= Max ? trimmed : trimmed[..Max] + "…";
        return preview.ReplaceLineEndings(" ");
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(". ", StringComparison.Ordinal);
        return cut < 0 ? message.TrimEnd('.') : message[..cut];
    }
}
