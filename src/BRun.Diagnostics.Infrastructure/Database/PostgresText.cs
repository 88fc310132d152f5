using System.Text.Json;
using System.Text.Json.Nodes;

namespace BRun.Diagnostics.Infrastructure.Database;

/// <summary>
/// Text as a Postgres text column can hold it. Postgres refuses the NUL character (U+0000) in text, so a body with one
/// (raw bytes from a proxy, or a "\u0000" escape decoded into a message's text) failed the whole write and the task
/// with it (and the retried task paid for the call again). The NUL is stored as U+FFFD, the replacement character that
/// also stands for undecodable bytes. Only stored copies are changed: the answer is judged, and a failure's RAW report
/// built, from the exact text (JSON escapes the NUL).
/// </summary>
public static class PostgresText
{
    public const char Replacement = '\uFFFD';

    public static string? Storable(string? text) =>
        text is null || !text.Contains('\0', StringComparison.Ordinal) ? text : text.Replace('\0', Replacement);

    /// <summary>
    /// JSON text as a jsonb column can hold it: jsonb refuses a string holding a NUL (the "\u0000" escape) where json
    /// and the JSON text itself keep it. Such strings get U+FFFD in its place; other JSON text is returned as it is.
    /// </summary>
    public static string StorableJsonb(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        if (!json.Contains("\\u0000", StringComparison.Ordinal) || JsonNode.Parse(json) is not { } node)
        {
            return json;
        }

        return ReplaceNuls(node)?.ToJsonString() ?? json;
    }

    private static JsonNode? ReplaceNuls(JsonNode? node) => node switch
    {
        JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(Storable(p.Key)!, ReplaceNuls(p.Value)))),
        JsonArray array => new JsonArray([.. array.Select(ReplaceNuls)]),
        JsonValue value when value.GetValueKind() == JsonValueKind.String => JsonValue.Create(Storable(value.GetValue<string>())),
        _ => node?.DeepClone(),
    };

    /// <summary>How many NUL characters <see cref="Storable"/> replaces in <paramref name="text"/>.</summary>
    public static int NulCount(string? text) => text is null ? 0 : text.Count(c => c == '\0');
}
