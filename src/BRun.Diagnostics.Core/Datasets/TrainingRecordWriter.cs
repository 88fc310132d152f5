using System.Text.Encodings.Web;
using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;

namespace BRun.Diagnostics.Core.Datasets;

/// <summary>Writes one training conversation as one JSONL line of the OpenAI/TRL chat format or ShareGPT.</summary>
public static class TrainingRecordWriter
{
    private static readonly JsonWriterOptions Options = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Writes the record's JSON object (no newline) to <paramref name="output"/>.</summary>
    public static void Write(Stream output, TrainingFormat format, string? system, IReadOnlyList<ConversationTurn> turns)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(turns);
        var (listName, roleName, contentName, user, assistant) = format switch
        {
            TrainingFormat.OpenAi => ("messages", "role", "content", "user", "assistant"),
            TrainingFormat.ShareGpt => ("conversations", "from", "value", "human", "gpt"),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Export writes openai or sharegpt."),
        };

        using var writer = new Utf8JsonWriter(output, Options);
        writer.WriteStartObject();
        writer.WriteStartArray(listName);
        if (system is not null)
        {
            WriteTurn(writer, roleName, "system", contentName, system);
        }

        foreach (var turn in turns)
        {
            WriteTurn(writer, roleName, turn.Role == ConversationRole.User ? user : assistant, contentName, turn.Content);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteTurn(Utf8JsonWriter writer, string roleName, string role, string contentName, string content)
    {
        writer.WriteStartObject();
        writer.WriteString(roleName, role);
        writer.WriteString(contentName, content);
        writer.WriteEndObject();
    }
}
