using System.Text;
using System.Text.Json;

namespace BRun.Diagnostics.Core.Tests;

/// <summary>Writes conversation JSON the way structured output shapes it.</summary>
internal static class ConversationJson
{
    public static string Build(params (string Role, string Content)[] turns)
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("conversation_metadata");
            writer.WriteString("persona", "gig_worker");
            writer.WriteString("emotional_arc", "overwhelm_to_agency");
            writer.WriteString("training_topic", "debt");
            writer.WriteNumber("turn_count", turns.Length);
            writer.WriteEndObject();
            writer.WriteStartArray("turns");
            foreach (var (role, content) in turns)
            {
                writer.WriteStartObject();
                writer.WriteString("role", role);
                writer.WriteString("content", content);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>A conversation of at least <paramref name="minimumChars"/> chars, alternating user and assistant turns.</summary>
    public static string OfSize(int minimumChars)
    {
        const string Sentence = "Let's look at the numbers together, one \"piece\" at a time — C:\\budget.xlsx 🙂. ";
        var turns = new List<(string, string)>();
        var total = 0;
        for (var i = 0; total < minimumChars; i++)
        {
            var content = string.Concat(Enumerable.Repeat(Sentence, 20)).TrimEnd();
            turns.Add((i % 2 == 0 ? "user" : "assistant", content));
            total += content.Length + 40;
        }

        return Build([.. turns]);
    }
}
