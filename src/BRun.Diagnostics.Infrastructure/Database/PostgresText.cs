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

    /// <summary>Where <paramref name="text"/> holds NUL characters (UTF-16 indexes), or null when it holds none.</summary>
    public static int[]? NulPositions(string? text)
    {
        if (text is null || !text.Contains('\0', StringComparison.Ordinal))
        {
            return null;
        }

        var positions = new List<int>();
        for (var i = text.IndexOf('\0', StringComparison.Ordinal); i >= 0; i = text.IndexOf('\0', i + 1))
        {
            positions.Add(i);
        }

        return [.. positions];
    }

    /// <summary>
    /// <paramref name="stored"/> (a <see cref="Storable"/> copy) with the NULs at <paramref name="positions"/> put back.
    /// Positions that do not hold U+FFFD (the body was emptied since, or is not the copy they were taken from) leave
    /// the text as it is.
    /// </summary>
    public static string WithNuls(string stored, IReadOnlyList<int>? positions)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (positions is null || positions.Count == 0 || positions.Any(p => p < 0 || p >= stored.Length || stored[p] != Replacement))
        {
            return stored;
        }

        var chars = stored.ToCharArray();
        foreach (var position in positions)
        {
            chars[position] = '\0';
        }

        return new string(chars);
    }

    /// <summary>
    /// Refuses what a person typed or sent when it holds a NUL: unlike a captured answer, which is kept with U+FFFD in
    /// its place, input is theirs to correct, and a silent change would store something they did not write.
    /// </summary>
    /// <exception cref="UnstorableTextException"><paramref name="text"/> holds a NUL.</exception>
    public static void RequireStorable(string? text, string field)
    {
        if (text is not null && text.Contains('\0', StringComparison.Ordinal))
        {
            throw new UnstorableTextException(field);
        }
    }
}

/// <summary>Input holding a NUL character (U+0000), which Postgres cannot store or match: a bad request naming its field.</summary>
public sealed class UnstorableTextException : ArgumentException
{
    public UnstorableTextException()
        : this("text")
    {
    }

    public UnstorableTextException(string field)
        : base($"{field} contains a NUL character (U+0000), which cannot be stored; remove it and try again.")
    {
        Field = field;
    }

    public UnstorableTextException(string message, Exception innerException)
        : base(message, innerException)
    {
        Field = "text";
    }

    /// <summary>The field or parameter that holds the NUL.</summary>
    public string Field { get; }
}
