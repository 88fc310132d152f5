namespace BRun.Diagnostics.Core.Conversations;

/// <summary>Who speaks a turn.</summary>
public enum ConversationRole
{
    User,
    Assistant,
}

/// <summary>One turn of a generated conversation.</summary>
public sealed record ConversationTurn(ConversationRole Role, string Content);

/// <summary>
/// The <c>conversation_metadata</c> object. Every member is null when the field was absent or not of the
/// expected JSON type; none of them is required.
/// </summary>
public sealed record ConversationMetadata(string? Persona, string? EmotionalArc, string? TrainingTopic, int? TurnCount)
{
    public static readonly ConversationMetadata None = new(null, null, null, null);
}

/// <summary>A generated training conversation that passed validation, ready to be stored.</summary>
public sealed record Conversation(ConversationMetadata Metadata, IReadOnlyList<ConversationTurn> Turns)
{
    public int AssistantTurnCount => Turns.Count(t => t.Role == ConversationRole.Assistant);
}
