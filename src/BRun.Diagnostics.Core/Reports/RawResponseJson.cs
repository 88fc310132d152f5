using System.Text.Json;
using System.Text.Json.Nodes;
using BRun.Diagnostics.Core.Messages;

namespace BRun.Diagnostics.Core.Reports;

/// <summary>
/// Turns a raw body into the JSON kept in <c>raw_response</c> and in the report: the body itself when it is
/// JSON, else a wrapper <c>{"format":"sse"|"text","body":...}</c> so an HTML 502 page or an SSE transcript
/// still fits a JSON column.
/// </summary>
public static class RawResponseJson
{
    public const string SseFormat = "sse";
    public const string TextFormat = "text";

    public static JsonNode ToNode(string rawBody)
    {
        ArgumentNullException.ThrowIfNull(rawBody);
        if (SseTranscriptParser.LooksLikeSse(rawBody))
        {
            return Wrap(SseFormat, rawBody);
        }

        // Postgres jsonb rejects \u0000 inside strings; such a body is kept as text instead.
        if (!string.IsNullOrWhiteSpace(rawBody) && !rawBody.Contains("\\u0000", StringComparison.Ordinal))
        {
            try
            {
                if (JsonNode.Parse(rawBody) is { } node)
                {
                    return node;
                }
            }
            catch (JsonException)
            {
                // Not JSON: wrapped below.
            }
        }

        return Wrap(TextFormat, rawBody);
    }

    /// <summary>The compact JSON text for the jsonb column.</summary>
    public static string ToJsonText(string rawBody) => ToNode(rawBody).ToJsonString();

    private static JsonObject Wrap(string format, string body) => new()
    {
        ["format"] = format,
        ["body"] = body,
    };
}
