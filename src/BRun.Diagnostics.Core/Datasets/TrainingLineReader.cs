using System.Text.Json;
using BRun.Diagnostics.Core.Conversations;

namespace BRun.Diagnostics.Core.Datasets;

/// <summary>One JSONL line read as a training record, or why it could not be.</summary>
public readonly record struct TrainingLine(TrainingRecord? Record, TrainingFormat Format, string? Error)
{
    public static TrainingLine Bad(string error) => new(null, TrainingFormat.Auto, error);
}

/// <summary>
/// Reads one line of an OpenAI/TRL chat JSONL file (<c>{"messages":[{"role","content"}]}</c>) or a ShareGPT file
/// (<c>{"conversations":[{"from","value"}]}</c>). A line that is not a record of the format gets an error that says
/// what is wrong with it; whether the conversation is any good is the validator's business, not this reader's.
/// Roles: <c>system</c> (only before the first user/assistant turn; kept as the system prompt), <c>user</c>/<c>human</c>,
/// <c>assistant</c>/<c>gpt</c>/<c>model</c>/<c>chatgpt</c>. Tool and function messages are not training dialogue here
/// and make the line bad rather than being dropped silently. OpenAI content may be a string or a list of text parts.
/// </summary>
public static class TrainingLineReader
{
    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 64 };

    public static TrainingLine Read(string line, TrainingFormat format)
    {
        ArgumentNullException.ThrowIfNull(line);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line, Options);
        }
        catch (JsonException ex)
        {
            return TrainingLine.Bad($"not valid JSON: {ex.Message.Split(" LineNumber", 2)[0]}");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return TrainingLine.Bad($"a JSON {root.ValueKind.ToString().ToLowerInvariant()}, expected an object");
            }

            var hasMessages = root.TryGetProperty("messages", out var messages);
            var hasConversations = root.TryGetProperty("conversations", out var conversations);
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return format switch
            {
                TrainingFormat.OpenAi when hasMessages => ReadTurns(messages, "messages", "role", "content", TrainingFormat.OpenAi, model),
                TrainingFormat.ShareGpt when hasConversations => ReadTurns(conversations, "conversations", "from", "value", TrainingFormat.ShareGpt, model),
                TrainingFormat.Auto when hasMessages => ReadTurns(messages, "messages", "role", "content", TrainingFormat.OpenAi, model),
                TrainingFormat.Auto when hasConversations => ReadTurns(conversations, "conversations", "from", "value", TrainingFormat.ShareGpt, model),
                TrainingFormat.OpenAi => TrainingLine.Bad("no \"messages\" array (OpenAI chat format)"),
                TrainingFormat.ShareGpt => TrainingLine.Bad("no \"conversations\" array (ShareGPT format)"),
                _ => TrainingLine.Bad("neither a \"messages\" array (OpenAI chat format) nor a \"conversations\" array (ShareGPT)"),
            };
        }
    }

    private static TrainingLine ReadTurns(JsonElement list, string listName, string roleName, string contentName, TrainingFormat format, string? model)
    {
        if (list.ValueKind != JsonValueKind.Array)
        {
            return TrainingLine.Bad($"\"{listName}\" is a JSON {list.ValueKind.ToString().ToLowerInvariant()}, expected an array");
        }

        string? system = null;
        var turns = new List<ConversationTurn>(list.GetArrayLength());
        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var at = $"{listName}[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                return TrainingLine.Bad($"{at} is not an object");
            }

            if (!item.TryGetProperty(roleName, out var roleElement) || roleElement.ValueKind != JsonValueKind.String)
            {
                return TrainingLine.Bad($"{at}.{roleName} is missing or not a string");
            }

            if (!item.TryGetProperty(contentName, out var contentElement))
            {
                return TrainingLine.Bad($"{at} has no \"{contentName}\"");
            }

            var content = ContentText(contentElement, out var contentProblem);
            if (content is null)
            {
                return TrainingLine.Bad($"{at}.{contentName} {contentProblem}");
            }

            var role = roleElement.GetString()!;
            switch (role.ToLowerInvariant())
            {
                case "system":
                    if (turns.Count > 0)
                    {
                        return TrainingLine.Bad($"{at} is a system message after the dialogue began; only a leading system prompt is supported");
                    }

                    system = system is null ? content : system + "\n\n" + content;
                    break;
                case "user" or "human":
                    turns.Add(new ConversationTurn(ConversationRole.User, content));
                    break;
                case "assistant" or "gpt" or "model" or "chatgpt":
                    turns.Add(new ConversationTurn(ConversationRole.Assistant, content));
                    break;
                default:
                    return TrainingLine.Bad($"{at}.{roleName} is \"{Shorten(role)}\"; only system, user and assistant turns are training dialogue here");
            }
        }

        return new TrainingLine(new TrainingRecord(system, turns, model), format, null);
    }

    private static string? ContentText(JsonElement content, out string? problem)
    {
        problem = null;
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString();
            case JsonValueKind.Array:
                var parts = new List<string>();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object
                        || !part.TryGetProperty("type", out var type) || !type.ValueEquals("text")
                        || !part.TryGetProperty("text", out var text) || text.ValueKind != JsonValueKind.String)
                    {
                        problem = "has a part that is not {\"type\":\"text\",\"text\":...}; only text content is supported";
                        return null;
                    }

                    parts.Add(text.GetString()!);
                }

                return string.Concat(parts);
            default:
                problem = $"is a JSON {content.ValueKind.ToString().ToLowerInvariant()}, expected a string or a list of text parts";
                return null;
        }
    }

    private static string Shorten(string value) => value.Length <= 40 ? value : value[..40] + "…";
}
