namespace BRun.Diagnostics.Infrastructure.Claude;

/// <summary>
/// The JSON schema sent as structured output for a training conversation. It keeps within the structured-output
/// limits: <c>additionalProperties: false</c> everywhere, no numeric or length bounds, <c>minItems</c> of 1 at most.
/// </summary>
public static class ConversationSchema
{
    public const string Json = """
        {"type":"object","properties":{"conversation_metadata":{"type":"object","properties":{"persona":{"type":"string"},"emotional_arc":{"type":"string"},"training_topic":{"type":"string"},"turn_count":{"type":"integer"}},"required":["persona","emotional_arc","training_topic","turn_count"],"additionalProperties":false},"turns":{"type":"array","minItems":1,"items":{"type":"object","properties":{"role":{"type":"string","enum":["user","assistant"]},"content":{"type":"string"}},"required":["role","content"],"additionalProperties":false}}},"required":["conversation_metadata","turns"],"additionalProperties":false}
        """;
}
