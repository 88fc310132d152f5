using System.Globalization;
using BRun.Diagnostics.Core.Conversations;
using BRun.Diagnostics.Core.Detection;
using BRun.Diagnostics.Core.Detection.Json;
using BRun.Diagnostics.Core.Messages;
using BRun.Diagnostics.Core.Text;

namespace BRun.Diagnostics.Core.Validation;

/// <summary>
/// Decides whether one Claude response may enter production, and if not, why. The checks run from the
/// outside in: transport, HTTP and API errors, the stream's end, the stop reason, then the content (JSON
/// structure, conversation shape, each assistant turn's ending). The first failure decides.
/// Immutable and thread-safe: register it as a singleton.
/// </summary>
public sealed class ResponseValidator
{
    /// <summary>
    /// Recorded with every scan and export, so a manifest says which rules judged the data. Raise it whenever a rule
    /// changes what is accepted. 2: one-pass conversation reader; a literal trailing backslash in decoded text is
    /// <c>trailing_backslash</c> (low), not a cut escape.
    /// </summary>
    public const string Version = "2";

    private readonly TruncationDetector _detector;

    public ResponseValidator()
        : this(TruncationDetector.CreateDefault())
    {
    }

    public ResponseValidator(TruncationDetector detector)
    {
        ArgumentNullException.ThrowIfNull(detector);
        _detector = detector;
    }

    public ValidationResult Validate(CapturedResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Validate(response.Parsed, ResponseContext.From(response));
    }

    public ValidationResult Validate(ParsedMessage message, ResponseContext context)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(context);
        var failure = CheckDelivery(message, context) ?? CheckStopReason(message, context);
        if (failure is not null)
        {
            return ValidationResult.Fail(failure, message.StopReason);
        }

        return ValidateContent(message.Text, message.StopReason, message.ContentBlockTypes);
    }

    /// <summary>The content checks alone, for a text whose response ended with <c>end_turn</c>.</summary>
    public ValidationResult ValidateContent(string text, string? stopReason = "end_turn", IReadOnlyList<string>? contentBlockTypes = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (string.IsNullOrWhiteSpace(text))
        {
            var blocks = contentBlockTypes is { Count: > 0 } ? $"content blocks: [{string.Join(", ", contentBlockTypes)}]" : "no content blocks";
            return Fail(new(FailureType.ValidationError, "no_text_content", $"The response has no text content ({blocks}).", Confidence.High));
        }

        // A cut text almost never ends with the object's closing brace: judge it with the completeness scanner
        // first, without building any turn. Otherwise the reader checks the whole grammar in one pass, so a complete
        // conversation costs one pass, and only text it refuses goes through the scanner to say where it stops.
        if (!text.AsSpan().TrimEnd().EndsWith('}'))
        {
            var early = JsonCompletenessScanner.Scan(text);
            if (early.Status == JsonScanStatus.Incomplete)
            {
                return Fail(DescribeCut(text, early));
            }
        }

        var parsed = ConversationReader.Read(text);
        switch (parsed.Status)
        {
            case ConversationParseStatus.InvalidJson:
                var scan = JsonCompletenessScanner.Scan(text);
                return scan.Status switch
                {
                    JsonScanStatus.Incomplete => Fail(DescribeCut(text, scan)),
                    JsonScanStatus.Invalid => Fail(new(
                        FailureType.ParseError,
                        "invalid_json",
                        $"The content is not valid JSON: {scan.Problem} at char offset {scan.Offset} (near {TextEndings.Tail(text[..Math.Min(text.Length, scan.Offset + 1)])}).",
                        Confidence.High) { ContentOffset = scan.Offset }),

                    // The scanner checks structure only; bad numbers or raw control characters surface in the reader.
                    _ => Fail(new(
                        FailureType.ParseError,
                        "invalid_json",
                        $"The content is complete but does not parse: {parsed.SyntaxError} at char offset {parsed.SyntaxOffset}.",
                        Confidence.High) { ContentOffset = parsed.SyntaxOffset }),
                };
            case ConversationParseStatus.NotAConversation:
                return Fail(new(FailureType.ValidationError, parsed.Problem!.Pattern, parsed.Problem.Details, Confidence.High));
        }

        var conversation = parsed.Conversation!;
        if (_detector.DetectInTurns(conversation.Turns) is { } cut)
        {
            var others = cut.FlaggedTurnCount > 1 ? $" ({cut.FlaggedTurnCount} assistant turns look cut in all)" : string.Empty;
            var position = cut.TurnIndex == conversation.Turns.Count - 1 ? "the last turn" : $"of {conversation.Turns.Count} turns";
            return Fail(new(
                FailureType.Truncation,
                cut.Finding.Pattern,
                $"The JSON is complete, but assistant turn turns[{cut.TurnIndex}] ({position}) looks cut{others}. {cut.Finding.Details}",
                cut.Finding.Confidence) { TurnIndex = cut.TurnIndex });
        }

        return ValidationResult.Ok(conversation, stopReason);

        ValidationResult Fail(ValidationFailure failure) => ValidationResult.Fail(failure, stopReason);
    }

    /// <summary>Did a usable message arrive at all: transport, HTTP status, API errors, the stream's end, the body's shape.</summary>
    private static ValidationFailure? CheckDelivery(ParsedMessage message, ResponseContext context)
    {
        if (context.Transport != TransportFailure.None)
        {
            var pattern = context.Transport switch
            {
                TransportFailure.Timeout => "transport_timeout",
                TransportFailure.ConnectionFailed => "transport_connection_failed",
                TransportFailure.Canceled => "transport_canceled",
                _ => "transport_" + context.Transport.ToString().ToLowerInvariant(),
            };
            return new(FailureType.ApiError, pattern, $"No HTTP response arrived ({context.Transport}): {context.TransportError ?? "no error message"}.", Confidence.High);
        }

        var status = context.HttpStatus is { } code ? $"HTTP {code}" : "HTTP status unknown";
        if (message.Kind == BodyKind.ApiError)
        {
            var error = $"{message.ErrorType}: {message.ErrorMessage ?? "no message"}";
            if (message.StreamOutcome == StreamOutcome.ErrorEvent)
            {
                return new(
                    FailureType.ApiError,
                    "stream_error_event",
                    $"The stream carried an error event ({error}) after {Plural.Of(message.EventCount, "event")}; {Plural.Of(message.Text.Length, "character")} of text had arrived.",
                    Confidence.High);
            }

            var requestId = message.BodyRequestId is { } id ? $", request_id {id}" : string.Empty;
            return new(FailureType.ApiError, message.ErrorType ?? HttpPattern(context), $"The API returned an error ({status}{requestId}): {error}.", Confidence.High);
        }

        if (context.HttpStatus is { } httpStatus and (< 200 or > 299))
        {
            var body = message.Kind switch
            {
                BodyKind.Empty => "an empty body",
                BodyKind.NotJson or BodyKind.UnexpectedShape => $"a body that is not an API error object. {message.ParseProblem}",
                _ => "a message body",
            };
            return new(FailureType.ApiError, HttpPattern(context), $"{status} with {body}", Confidence.High);
        }

        if (message.StreamOutcome == StreamOutcome.CutBeforeMessageStop && message.Kind != BodyKind.Empty)
        {
            return new(FailureType.Truncation, "stream_cut", DescribeStreamCut(message), Confidence.High);
        }

        return message.Kind switch
        {
            BodyKind.Empty => new(FailureType.ParseError, "empty_body", message.ParseProblem ?? "The response body is empty.", Confidence.High),
            BodyKind.NotJson => new(FailureType.ParseError, "not_json", message.ParseProblem ?? "The response body is not JSON.", Confidence.High),
            BodyKind.UnexpectedShape => new(FailureType.ParseError, "unexpected_body", message.ParseProblem ?? "The body is not a Messages API message.", Confidence.High),

            // A delta that could not be read may have taken text with it, so the reassembled text cannot be trusted.
            _ when message.ParseProblem is { } problem => new(FailureType.ParseError, "malformed_stream_event", problem, Confidence.High),
            _ => null,
        };
    }

    private ValidationFailure? CheckStopReason(ParsedMessage message, ResponseContext context)
    {
        switch (message.StopReason)
        {
            case "end_turn":
                return null;
            case null:
                return new(
                    FailureType.ValidationError,
                    "missing_stop_reason",
                    context.Streamed
                        ? "The stream completed but no message_delta carried a stop_reason."
                        : "The message has no stop_reason; a completed non-streamed message always has one.",
                    Confidence.High);
            case "max_tokens" or "model_context_window_exceeded":
                return DescribeTokenLimit(message, context);
            case "refusal":
                return new(
                    FailureType.ValidationError,
                    "refusal",
                    $"The model refused (stop_reason refusal; category: {message.StopDetailsCategory ?? "not given"}; explanation: {message.StopDetailsExplanation ?? "not given"}). {message.Text.Length} chars of text arrived before it; retrying the same prompt will likely be refused again.",
                    Confidence.High);
            default:
                // stop_sequence, tool_use, pause_turn and values added after this code was written. Our requests set
                // no stop sequences and no tools, so these say the request or the API changed, not that a token
                // limit cut the text: they are validation errors, kept apart from the truncation statistics that
                // the root-cause analysis depends on. The raw value is stored in stop_reason too.
                var sequence = message.StopSequence is { } s ? $" (stop_sequence \"{s}\")" : string.Empty;
                return new(
                    FailureType.ValidationError,
                    "unexpected_stop_reason",
                    $"stop_reason \"{message.StopReason}\"{sequence} is not one these requests should produce; the content may be incomplete.",
                    Confidence.High);
        }
    }

    private ValidationFailure DescribeTokenLimit(ParsedMessage message, ResponseContext context)
    {
        var output = message.Usage.OutputTokens;
        var limit = context.MaxTokens is { } max ? $"max_tokens {max}" : "max_tokens not known";
        var note = output is { } used && context.MaxTokens is { } configured && used < configured
            ? " Output stopped below the configured max_tokens."
            : string.Empty;
        var scan = JsonCompletenessScanner.Scan(message.Text);
        var confidence = scan.Status == JsonScanStatus.Complete ? Confidence.Medium : Confidence.High;
        var content = scan.Status == JsonScanStatus.Complete
            ? "The content JSON happens to be complete."
            : $"The content JSON stops {scan.Describe()}; it ends with {TextEndings.Tail(message.Text)}.";
        return new(
            FailureType.Truncation,
            message.StopReason!,
            $"stop_reason {message.StopReason}: output_tokens {output?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}, {limit}.{note} {content}",
            confidence) { ContentOffset = scan.Status == JsonScanStatus.Complete ? null : scan.Offset };
    }

    private ValidationFailure DescribeCut(string text, JsonScanResult scan)
    {
        var finding = _detector.Detect(new TruncationInput(text, scan))
            ?? new TruncationFinding(
                "incomplete_json",
                $"The JSON stops before it is complete; it ends with {TextEndings.Tail(text)}.",
                Confidence.High);

        // The scan proves the cut, whichever ending the pattern names.
        return new(FailureType.Truncation, finding.Pattern, $"The content JSON is cut {scan.Describe()}. {finding.Details}", Confidence.High)
        {
            ContentOffset = scan.Offset,
        };
    }

    /// <summary>Says what the transcript showed, no more: saved files cannot tell who cut a stream.</summary>
    private static string DescribeStreamCut(ParsedMessage message)
    {
        var events = message.EventCount == 1 ? "1 complete event" : $"{message.EventCount} complete events";
        var last = message.LastEventName is { } name ? $" (the last a {name})" : string.Empty;
        var torn = message.DroppedTornEvent
            ? $"; after them {(message.TornEventName is { } tornName ? "a " + tornName : "an")} event was torn mid-way (its data stops before the JSON ends) and was dropped"
            : "; it stopped at an event boundary, nothing torn";
        var missing = message.StopReason is { } reason
            ? $"Missing: message_stop (message_delta with stop_reason {reason} had arrived)"
            : "Missing: message_delta with a stop_reason, and message_stop";
        var scan = JsonCompletenessScanner.Scan(message.Text);
        var content = scan.Status switch
        {
            JsonScanStatus.Empty => "no text had arrived",
            JsonScanStatus.Complete => $"{message.Text.Length.ToString("N0", CultureInfo.InvariantCulture)} chars of text had arrived and form complete JSON",
            _ => $"{message.Text.Length.ToString("N0", CultureInfo.InvariantCulture)} chars of text had arrived, the JSON stopping {scan.Describe()}, ending with {TextEndings.Tail(message.Text)}",
        };
        return $"The stream ended without message_stop after {events}{last}{torn}. {missing}; {content}.";
    }

    private static string HttpPattern(ResponseContext context) =>
        context.HttpStatus is { } status ? $"http_{status}" : "api_error";
}
