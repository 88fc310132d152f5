namespace BRun.Diagnostics.Core.Validation;

/// <summary>Why a response may not enter production. Stored as the snake_case wire name (see <see cref="FailureTypeNames"/>).</summary>
public enum FailureType
{
    /// <summary>The content was cut: by max_tokens, by the context window, by a stream cut, or at a cut-looking ending.</summary>
    Truncation,

    /// <summary>The body or the content could not be parsed (not JSON, complete-but-invalid JSON).</summary>
    ParseError,

    /// <summary>The API answered with an error, or no usable response arrived (transport failure).</summary>
    ApiError,

    /// <summary>The content parsed but is not an acceptable conversation (shape, refusal, unexpected stop reason).</summary>
    ValidationError,
}

/// <summary>How sure a finding is.</summary>
public enum Confidence
{
    Low,
    Medium,
    High,
}

/// <summary>Wire names used in the database, the reports and the CLI.</summary>
public static class FailureTypeNames
{
    public const string Truncation = "truncation";
    public const string ParseError = "parse_error";
    public const string ApiError = "api_error";
    public const string ValidationError = "validation_error";

    public static string ToWire(this FailureType type) => type switch
    {
        FailureType.Truncation => Truncation,
        FailureType.ParseError => ParseError,
        FailureType.ApiError => ApiError,
        FailureType.ValidationError => ValidationError,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown failure type."),
    };

    public static FailureType Parse(string wire) => wire switch
    {
        Truncation => FailureType.Truncation,
        ParseError => FailureType.ParseError,
        ApiError => FailureType.ApiError,
        ValidationError => FailureType.ValidationError,
        _ => throw new ArgumentOutOfRangeException(nameof(wire), wire, "Unknown failure type."),
    };

    public static string ToWire(this Confidence confidence) => confidence switch
    {
        Confidence.Low => "low",
        Confidence.Medium => "medium",
        Confidence.High => "high",
        _ => throw new ArgumentOutOfRangeException(nameof(confidence), confidence, "Unknown confidence."),
    };
}
