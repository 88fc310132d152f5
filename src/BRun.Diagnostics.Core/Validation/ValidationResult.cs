using System.Diagnostics.CodeAnalysis;
using BRun.Diagnostics.Core.Conversations;

namespace BRun.Diagnostics.Core.Validation;

/// <summary>Why a response was rejected.</summary>
/// <param name="Type">The failure category (stored as its wire name).</param>
/// <param name="Pattern">snake_case: a truncation pattern (<c>mid_word</c>), a stop reason (<c>max_tokens</c>), an error type...</param>
/// <param name="Details">Human-readable: what was seen, where, and what the ending looks like.</param>
/// <param name="Confidence">How sure the finding is.</param>
public sealed record ValidationFailure(FailureType Type, string Pattern, string Details, Confidence Confidence)
{
    /// <summary>Index in <c>turns</c> of the assistant turn that looks cut, for per-turn findings.</summary>
    public int? TurnIndex { get; init; }

    /// <summary>Char offset in the content text where the JSON stops or breaks, for structural findings.</summary>
    public int? ContentOffset { get; init; }
}

/// <summary>One decision per response: ok with the parsed conversation, or a failure.</summary>
public sealed record ValidationResult
{
    private ValidationResult(Conversation? conversation, ValidationFailure? failure, string? stopReason)
    {
        Conversation = conversation;
        Failure = failure;
        StopReason = stopReason;
        IsOk = failure is null;
    }

    [MemberNotNullWhen(true, nameof(Conversation))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool IsOk { get; }

    /// <summary>The conversation to store; set only when <see cref="IsOk"/>.</summary>
    public Conversation? Conversation { get; }

    /// <summary>Why the response was rejected; set only when not <see cref="IsOk"/>.</summary>
    public ValidationFailure? Failure { get; }

    /// <summary>The response's stop_reason as received (unknown values verbatim), null when none arrived.</summary>
    public string? StopReason { get; }

    public static ValidationResult Ok(Conversation conversation, string? stopReason)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        return new(conversation, null, stopReason);
    }

    public static ValidationResult Fail(ValidationFailure failure, string? stopReason)
    {
        ArgumentNullException.ThrowIfNull(failure);
        return new(null, failure, stopReason);
    }
}
