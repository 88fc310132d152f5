using System.Globalization;
using System.Text.Json;

namespace BRun.Diagnostics.Core.Conversations;

/// <summary>Why a parsed JSON document is not a conversation. <see cref="Pattern"/> is snake_case.</summary>
public sealed record ConversationShapeProblem(string Pattern, string Details);

/// <summary>
/// Reads <c>{"conversation_metadata": {...}, "turns": [{"role", "content"}]}</c> from a parsed document.
/// Unknown fields are ignored; metadata is optional; turns must have a known role and non-blank string content,
/// and at least one must be the assistant's.
/// </summary>
public static class ConversationReader
{
    public const string NotAConversation = "not_a_conversation";
    public const string InvalidTurn = "invalid_turn";
    public const string NoAssistantTurn = "no_assistant_turn";
    public const string EmptyTurn = "empty_turn";

    public static Conversation? Read(JsonElement root, out ConversationShapeProblem? problem)
    {
        problem = null;
        if (root.ValueKind != JsonValueKind.Object)
        {
            problem = new(NotAConversation, $"The content is a JSON {Kind(root)}, not an object with \"turns\".");
            return null;
        }

        if (!root.TryGetProperty("turns", out var turnsElement) || turnsElement.ValueKind != JsonValueKind.Array)
        {
            problem = new(NotAConversation, turnsElement.ValueKind == JsonValueKind.Undefined
                ? "The content JSON has no \"turns\" array."
                : $"\"turns\" is a JSON {Kind(turnsElement)}, expected an array.");
            return null;
        }

        var turns = new List<ConversationTurn>(turnsElement.GetArrayLength());
        var index = 0;
        foreach (var element in turnsElement.EnumerateArray())
        {
            var turn = ReadTurn(element, index, out problem);
            if (turn is null)
            {
                return null;
            }

            turns.Add(turn);
            index++;
        }

        if (!turns.Exists(t => t.Role == ConversationRole.Assistant))
        {
            problem = new(NoAssistantTurn, string.Create(
                CultureInfo.InvariantCulture,
                $"The conversation has {turns.Count} turns and none of them is an assistant turn."));
            return null;
        }

        return new Conversation(ReadMetadata(root), turns);
    }

    private static ConversationTurn? ReadTurn(JsonElement element, int index, out ConversationShapeProblem? problem)
    {
        problem = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            problem = new(InvalidTurn, $"turns[{index}] is a JSON {Kind(element)}, expected an object.");
            return null;
        }

        ConversationRole role;
        if (!element.TryGetProperty("role", out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
        {
            problem = new(InvalidTurn, $"turns[{index}].role is missing or not a string.");
            return null;
        }
        else if (roleElement.ValueEquals("user"))
        {
            role = ConversationRole.User;
        }
        else if (roleElement.ValueEquals("assistant"))
        {
            role = ConversationRole.Assistant;
        }
        else
        {
            problem = new(InvalidTurn, $"turns[{index}].role is \"{roleElement.GetString()}\", expected \"user\" or \"assistant\".");
            return null;
        }

        if (!element.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
        {
            problem = new(InvalidTurn, content.ValueKind == JsonValueKind.Undefined
                ? $"turns[{index}] has no \"content\"."
                : $"turns[{index}].content is a JSON {Kind(content)}, expected a string.");
            return null;
        }

        var text = content.GetString()!;
        if (string.IsNullOrWhiteSpace(text))
        {
            // A blank turn has no ending for the truncation strategies to judge, yet it is useless as training data.
            problem = new(EmptyTurn, $"turns[{index}] ({roleElement.GetString()}) has empty content.");
            return null;
        }

        return new ConversationTurn(role, text);
    }

    private static ConversationMetadata ReadMetadata(JsonElement root)
    {
        if (!root.TryGetProperty("conversation_metadata", out var metadata) || metadata.ValueKind != JsonValueKind.Object)
        {
            return ConversationMetadata.None;
        }

        int? turnCount = metadata.TryGetProperty("turn_count", out var count)
            && count.ValueKind == JsonValueKind.Number
            && count.TryGetInt32(out var number)
                ? number
                : null;

        return new ConversationMetadata(
            StringOrNull(metadata, "persona"),
            StringOrNull(metadata, "emotional_arc"),
            StringOrNull(metadata, "training_topic"),
            turnCount);
    }

    private static string? StringOrNull(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Kind(JsonElement element) => element.ValueKind.ToString().ToLowerInvariant();
}
