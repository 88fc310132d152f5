using BRun.Diagnostics.Core.Failures;
using BRun.Diagnostics.Core.Validation;
using BRun.Diagnostics.Infrastructure.Failures;

namespace BRun.Diagnostics.Web.Tests.Failures;

/// <summary>Failure inputs like the ones the pipeline stores, and a helper to store them as a user.</summary>
internal static class FailureSeed
{
    public static FailedGenerationInput Truncation(string content = "{\"turns\":[{\"role\":\"user\",\"content\":\"I want to save for \\", int outputTokens = 1003, Guid? runId = null) => new()
    {
        RunId = runId,
        Prompt = "Generate a financial planning conversation about retirement savings.",
        Model = "claude-sonnet-4-5",
        MaxTokens = 24576,
        Temperature = 0.7m,
        StructuredOutputsEnabled = true,
        RawBody = "{\"id\":\"msg_01\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":2150,\"output_tokens\":" + outputTokens + "}}",
        ResponseContent = content,
        StopReason = "end_turn",
        InputTokens = 2150,
        OutputTokens = outputTokens,
        RequestId = "req_011",
        HttpStatus = 200,
        DurationMs = 31250,
        Streamed = false,
        FailureType = FailureType.Truncation,
        TruncationPattern = "lone_backslash",
        TruncationDetails = "Content ends with a lone backslash inside a JSON string",
        Confidence = Confidence.High,
    };

    public static FailedGenerationInput ApiError(string message = "The response body is not JSON: 502 Bad Gateway from the proxy") => new()
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
        ErrorMessage = message,
    };

    public static async Task<Guid> StoreAsync(this FailedGenerationStore store, Guid owner, FailedGenerationInput input) =>
        (await store.StoreAsync(input, owner, CancellationToken.None)).Id;
}
