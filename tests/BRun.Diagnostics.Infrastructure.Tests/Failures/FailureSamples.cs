using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;

namespace BRun.Diagnostics.Infrastructure.Tests.Failures;

/// <summary>Realistic failure inputs for the store tests.</summary>
internal static class FailureSamples
{
    public const string TruncatedBody = """
        {"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"{\"turns\":[{\"role\":\"user\",\"content\":\"I want to save for \\"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2150,"output_tokens":1003}}
        """;

    public static FailedGenerationInput Truncation(Guid? taskId = null, Guid? runId = null) => new()
    {
        TaskId = taskId,
        RunId = runId,
        ConversationId = Guid.NewGuid(),
        Scaffolding = new ScaffoldingIds(Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid()),
        Prompt = "Generate a financial planning conversation about retirement savings.",
        Model = "claude-sonnet-4-5",
        MaxTokens = 24576,
        Temperature = 0m,
        StructuredOutputsEnabled = true,
        RawBody = TruncatedBody,
        ResponseContent = "{\"turns\":[{\"role\":\"user\",\"content\":\"I want to save for \\",
        StopReason = "end_turn",
        InputTokens = 2150,
        OutputTokens = 1003,
        CacheReadInputTokens = 0,
        RequestId = "req_011",
        HttpStatus = 200,
        DurationMs = 31250,
        Streamed = false,
        Attempts = 1,
        CostUsd = 0.021495m,
        Simulated = true,
        ApiAttempts =
        [
            new ApiAttempt(1, "2026-03-01T11:59:58.000Z", 529, "req_010", "transient", "overloaded (529)", null),
            new ApiAttempt(2, "2026-03-01T12:00:00.000Z", 200, "req_011", "response", "answer received", 0.021495m),
        ],
        RateLimitHeaders = new Dictionary<string, string>
        {
            ["anthropic-ratelimit-tokens-remaining"] = "398000",
            ["anthropic-ratelimit-requests-limit"] = "4000",
        },
        FailureType = FailureType.Truncation,
        TruncationPattern = "lone_backslash",
        TruncationDetails = "Content ends with a lone backslash inside a JSON string",
        Confidence = Confidence.High,
    };

    public static FailedGenerationInput ProxyError() => new()
    {
        Prompt = "Generate a conversation about mortgages.",
        Model = "claude-haiku-4-5",
        MaxTokens = 4096,
        RawBody = "<html><body><h1>502 Bad Gateway</h1></body></html>",
        HttpStatus = 502,
        Streamed = false,
        Attempts = 3,
        FailureType = FailureType.ApiError,
        Confidence = Confidence.High,
        ErrorMessage = "The response body is not JSON: 502 Bad Gateway from the proxy",
    };

    public static FailedGenerationInput CutStream() => new()
    {
        Prompt = "Generate a conversation about budgeting.",
        Model = "claude-sonnet-4-5",
        MaxTokens = 8192,
        RawBody = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"type\":\"message\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_del",
        ResponseContent = "",
        HttpStatus = 200,
        Streamed = true,
        StreamOutcome = "cut_before_message_stop",
        FailureType = FailureType.Truncation,
        TruncationPattern = "stream_cut",
        TruncationDetails = "Stream ended without message_stop",
        Confidence = Confidence.Medium,
    };

    public static FailedGenerationInput MaxTokens() => Truncation() with
    {
        StopReason = "max_tokens",
        OutputTokens = 24576,
        TruncationPattern = "mid_word",
        TruncationDetails = "Ends mid-word at the token limit",
        ConversationId = null,
    };
}
