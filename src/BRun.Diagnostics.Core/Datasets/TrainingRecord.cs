using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;

namespace BRun.Diagnostics.Core.Datasets;

/// <summary>
/// One training conversation as read from a dataset line, before validation: an optional system prompt and the
/// user/assistant turns in order. <see cref="ContentJson"/> is the conversation in the shape the validator and the
/// <c>conversations</c> table use.
/// </summary>
public sealed record TrainingRecord(string? System, IReadOnlyList<ConversationTurn> Turns, string? Model = null)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The <c>metadata</c> jsonb: the system prompt when there is one, else an empty object.</summary>
    public string MetadataJson()
    {
        using var buffer = new PooledJson();
        var writer = buffer.Writer;
        writer.WriteStartObject();
        if (System is not null)
        {
            writer.WriteString("system", System);
        }

        writer.WriteEndObject();
        return buffer.ToText();
    }

    /// <summary>The <c>turns</c> json (stored as written, so compact): <c>[{"role","content"}]</c>.</summary>
    public string TurnsJson() => WriteTurns(Turns);

    /// <summary>What the validator judges: <c>{"conversation_metadata": ..., "turns": [...]}</c>.</summary>
    public string ContentJson() => StoredConversation.ContentJson(MetadataJson(), TurnsJson());

    public static string WriteTurns(IReadOnlyList<ConversationTurn> turns)
    {
        ArgumentNullException.ThrowIfNull(turns);
        using var buffer = new PooledJson();
        var writer = buffer.Writer;
        writer.WriteStartArray();
        foreach (var turn in turns)
        {
            writer.WriteStartObject();
            writer.WriteString("role", turn.Role == ConversationRole.User ? "user" : "assistant");
            writer.WriteString("content", turn.Content);
            writer.WriteEndObject();
        }

        writer.WriteEndArray();
        return buffer.ToText();
    }

    private sealed class PooledJson : IDisposable
    {
        private readonly MemoryStream _stream = new();

        public PooledJson() => Writer = new Utf8JsonWriter(_stream, WriterOptions);

        public Utf8JsonWriter Writer { get; }

        public string ToText()
        {
            Writer.Flush();
            return Encoding.UTF8.GetString(_stream.GetBuffer(), 0, (int)_stream.Length);
        }

        public void Dispose()
        {
            Writer.Dispose();
            _stream.Dispose();
        }
    }
}

/// <summary>A stored conversation's turns (json) and metadata (jsonb) put back together as the text the validator judges.</summary>
public static class StoredConversation
{
    public static string ContentJson(string metadataJson, string turnsJson)
    {
        ArgumentNullException.ThrowIfNull(metadataJson);
        ArgumentNullException.ThrowIfNull(turnsJson);
        return string.Concat("{\"conversation_metadata\": ", metadataJson, ", \"turns\": ", turnsJson, "}");
    }
}
