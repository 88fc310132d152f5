using System.Globalization;

namespace BRun.Diagnostics.Core.Reports;

/// <summary>The facts the stop-reason analysis reads.</summary>
public sealed record StopReasonFacts
{
    public string? StopReason { get; init; }
    public int? InputTokens { get; init; }
    public int? OutputTokens { get; init; }
    public required int MaxTokens { get; init; }
    public int HttpStatus { get; init; }
    public bool Streamed { get; init; }

    /// <summary>Wire name, see <see cref="Failures.FailureWireNames.StreamOutcome"/>.</summary>
    public string? StreamOutcome { get; init; }

    /// <summary>Wire name, see <see cref="Failures.FailureWireNames.Transport"/>.</summary>
    public string? TransportFailure { get; init; }
    public long? DurationMs { get; init; }
    public string? StopSequence { get; init; }
    public string? StopDetailsCategory { get; init; }
    public string? StopDetailsExplanation { get; init; }
}

/// <summary>What the stop reason means, and what the token figures say about the cause.</summary>
public sealed record StopReasonAnalysis(string Analysis, string Conclusion);

/// <summary>
/// Explains each stop_reason, and relates output_tokens to max_tokens. Unlike the plan's version it
/// treats every band of utilisation, keeps unknown stop reasons verbatim, and says so when a figure is missing.
/// </summary>
public static class StopReasonAnalyzer
{
    /// <summary>Below this share of max_tokens an end_turn cut is "far below" the limit.</summary>
    public const double FarBelowShare = 0.5;

    /// <summary>At or above this share of max_tokens the output is "near" the limit.</summary>
    public const double NearLimitShare = 0.9;

    /// <summary>The observed cluster of premature cuts (~1,000 tokens, ~4.3 KB) from the original incident.</summary>
    public const int KnownClusterLow = 850;
    public const int KnownClusterHigh = 1200;

    public static StopReasonAnalysis Analyze(StopReasonFacts facts)
    {
        ArgumentNullException.ThrowIfNull(facts);
        return facts.StopReason switch
        {
            "end_turn" => EndTurn(facts),
            "max_tokens" => MaxTokens(facts),
            "model_context_window_exceeded" => new(
                "The context window filled before max_tokens was reached (model_context_window_exceeded): the output is truncated.",
                $"Input ({Count(facts.InputTokens)}) plus output ({Count(facts.OutputTokens)}) reached the model's context window "
                + $"below the configured max_tokens ({Invariant(facts.MaxTokens)}). Raising max_tokens does not help: shorten the prompt "
                + "or the conversation history, or use a model with a larger context window."),
            "refusal" => new(
                "A safety classifier stopped the output (refusal). The response was HTTP 200 and is billed."
                + RefusalDetails(facts),
                "Not a length problem. Do not retry the same prompt unchanged: review the prompt and the scaffolding "
                + "(persona, emotional arc, training topic) that produced it."),
            "pause_turn" => new(
                "A server-tool loop hit its iteration limit (pause_turn): the turn was paused and the content is incomplete.",
                "This pipeline sends no server tools, so the request carried tools it should not. Remove them, or continue "
                + "the turn by sending the paused response back as the assistant message."),
            "tool_use" => new(
                "The model stopped to call a tool (tool_use): the content is a tool call, not a finished answer.",
                "This pipeline sends no tools, so the request carried tool definitions it should not. Remove them from the request."),
            "stop_sequence" => new(
                facts.StopSequence is { } sequence
                    ? $"The model produced the custom stop sequence \"{sequence}\" and stopped there."
                    : "The model produced a custom stop sequence and stopped there (the sequence was not reported).",
                "This pipeline sets no stop sequences; check the request's stop_sequences. The content ends at the sequence, "
                + "so it may be incomplete."),
            null => Missing(facts),
            var unknown => new(
                $"Unrecognised stop_reason \"{unknown}\" (kept verbatim): a value this version does not know, probably newer than the code.",
                $"Check the Messages API documentation for \"{unknown}\". {Utilisation(facts)}"),
        };
    }

    private static StopReasonAnalysis EndTurn(StopReasonFacts facts)
    {
        const string Analysis = "Claude ended its turn on its own (end_turn): the API did not cut the output. If the content "
            + "looks cut, the cause is in the content itself or between the API and us, not max_tokens.";
        if (facts.OutputTokens is not { } output)
        {
            return new(Analysis, $"output_tokens was not reported, so the output cannot be compared with max_tokens ({Invariant(facts.MaxTokens)}). "
                + "Review the raw response.");
        }

        var share = Share(output, facts.MaxTokens);
        if (share < FarBelowShare)
        {
            var cluster = output is >= KnownClusterLow and <= KnownClusterHigh
                ? $" {Invariant(output)} tokens is inside the known cluster of premature cuts at about 1,000 tokens (~4.3 KB)."
                : string.Empty;
            return new(Analysis,
                $"Output ended FAR below max_tokens: {Utilisation(facts)} The limit did not cause this.{cluster} "
                + "Check for a client-side timeout (the C# SDK derives 30 s per 1,000 max_tokens unless a timeout is set), "
                + "a proxy or body-size limit on the response, and whether the prompt or output schema invites a short answer.");
        }

        if (share < NearLimitShare)
        {
            return new(Analysis,
                $"Output ended well within max_tokens: {Utilisation(facts)} The limit did not cause this; inspect how the content ends "
                + "and whether the model considered the conversation finished.");
        }

        return new(Analysis,
            $"Output ended near max_tokens: {Utilisation(facts)} The model finished close to the limit, so it may have "
            + "compressed or wrapped up early. Raise max_tokens to give headroom.");
    }

    private static StopReasonAnalysis MaxTokens(StopReasonFacts facts)
    {
        const string Analysis = "Claude hit the max_tokens limit: the response was cut off mid-generation.";
        if (facts.OutputTokens is { } output && output < facts.MaxTokens * NearLimitShare)
        {
            return new(Analysis,
                $"Cut by a token limit below the configured max_tokens: {Utilisation(facts)} The model's own output limit is lower "
                + "than the request asks for. Shorten the expected output or use a model with a larger output limit.");
        }

        return new(Analysis,
            $"Truncation caused by the max_tokens limit ({Invariant(facts.MaxTokens)}): {Utilisation(facts)} Raise max_tokens "
            + "(stream large values) or ask for a shorter output.");
    }

    private static StopReasonAnalysis Missing(StopReasonFacts facts)
    {
        if (facts.TransportFailure is { } transport)
        {
            var after = facts.DurationMs is { } ms ? $" after {Invariant(ms)} ms" : string.Empty;
            return new(
                $"No stop_reason: no usable HTTP response arrived ({transport}{after}).",
                transport switch
                {
                    "timeout" => "The client timed out before the response completed. Compare the duration with the client timeout; "
                        + "long generations need a longer timeout or streaming.",
                    "connection_failed" => "The connection failed or was reset. Check network, DNS and proxies between us and the API.",
                    "canceled" => "The call was canceled by our side (shutdown or a caller's cancellation), not by the API.",
                    _ => "The transport failed; see the error message.",
                });
        }

        if (facts.Streamed && facts.StreamOutcome == "cut_before_message_stop")
        {
            return new(
                "No stop_reason: the stream ended without message_delta/message_stop, so the connection was cut mid-stream.",
                $"The stream was cut, by the server, a proxy or a client timeout, not by max_tokens. {Utilisation(facts)}");
        }

        if (facts.Streamed && facts.StreamOutcome == "error_event")
        {
            return new(
                "No stop_reason: an error event arrived inside the HTTP 200 stream.",
                "The API failed mid-stream (often overloaded_error); see the error message. Retry later.");
        }

        if (facts.HttpStatus >= 400)
        {
            return new(
                $"No stop_reason: the API answered HTTP {Invariant(facts.HttpStatus)}, and error responses carry none.",
                "An API error, not a truncation; see the error message and the rate-limit headers.");
        }

        return new(
            "No stop_reason in the response: the body is not a complete Messages API response (for example a proxy page or a torn body).",
            "Review the raw response; the failure happened before or outside the model's generation.");
    }

    private static string RefusalDetails(StopReasonFacts facts) =>
        (facts.StopDetailsCategory, facts.StopDetailsExplanation) switch
        {
            (null, null) => " No stop_details were sent.",
            (var category, null) => $" Category: {category}.",
            (null, var explanation) => $" Explanation: {explanation}",
            var (category, explanation) => $" Category: {category}. Explanation: {explanation}",
        };

    private static string Utilisation(StopReasonFacts facts) =>
        facts.OutputTokens is { } output
            ? string.Create(CultureInfo.InvariantCulture,
                $"used {output:N0} of {facts.MaxTokens:N0} max_tokens ({Share(output, facts.MaxTokens):P0}), {facts.MaxTokens - output:N0} remaining.")
            : string.Create(CultureInfo.InvariantCulture,
                $"output_tokens was not reported (max_tokens {facts.MaxTokens:N0}).");

    private static double Share(int output, int max) => max <= 0 ? 1 : (double)output / max;

    private static string Count(int? tokens) => tokens is { } value ? Invariant(value) + " tokens" : "unknown";

    private static string Invariant(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
