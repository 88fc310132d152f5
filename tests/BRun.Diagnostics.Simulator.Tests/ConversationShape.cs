using System.Text.Json;

namespace BRun.Diagnostics.Simulator.Tests;

internal static class ConversationShape
{
    /// <summary>Asserts the text is JSON in the structured-output conversation shape and returns its persona.</summary>
    public static string AssertValid(string text)
    {
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        Assert.Equal(["conversation_metadata", "turns"], root.EnumerateObject().Select(p => p.Name));
        var metadata = root.GetProperty("conversation_metadata");
        Assert.Equal(["persona", "emotional_arc", "training_topic", "turn_count"], metadata.EnumerateObject().Select(p => p.Name));
        var turns = root.GetProperty("turns").EnumerateArray().ToList();
        Assert.NotEmpty(turns);
        Assert.Equal(turns.Count, metadata.GetProperty("turn_count").GetInt32());
        for (var i = 0; i < turns.Count; i++)
        {
            Assert.Equal(i % 2 == 0 ? "user" : "assistant", turns[i].GetProperty("role").GetString());
            Assert.False(string.IsNullOrWhiteSpace(turns[i].GetProperty("content").GetString()));
        }

        return metadata.GetProperty("persona").GetString()!;
    }

    public static bool IsJson(string text)
    {
        try
        {
            using var _ = JsonDocument.Parse(text);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
