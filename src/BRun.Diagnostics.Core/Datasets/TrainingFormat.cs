namespace BRun.Diagnostics.Core.Datasets;

/// <summary>The dataset formats that <c>brun import</c> reads and <c>brun export</c> writes.</summary>
public enum TrainingFormat
{
    /// <summary>Decide per record: <c>messages</c> means OpenAI, <c>conversations</c> ShareGPT; a directory means saved responses.</summary>
    Auto,

    /// <summary>JSONL of <c>{"messages":[{"role","content"}]}</c>, the OpenAI / TRL chat format.</summary>
    OpenAi,

    /// <summary>JSONL of <c>{"conversations":[{"from","value"}]}</c>.</summary>
    ShareGpt,

    /// <summary>Files of saved Messages API bodies (<c>.json</c>) or SSE transcripts (<c>.sse</c>).</summary>
    MessagesApi,
}

public static class TrainingFormats
{
    public static string ToWire(this TrainingFormat format) => format switch
    {
        TrainingFormat.Auto => "auto",
        TrainingFormat.OpenAi => "openai",
        TrainingFormat.ShareGpt => "sharegpt",
        TrainingFormat.MessagesApi => "messages-api",
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown format."),
    };

    public static bool TryParse(string? value, out TrainingFormat format)
    {
        format = value?.ToLowerInvariant() switch
        {
            "auto" => TrainingFormat.Auto,
            "openai" => TrainingFormat.OpenAi,
            "sharegpt" => TrainingFormat.ShareGpt,
            "messages-api" => TrainingFormat.MessagesApi,
            _ => (TrainingFormat)(-1),
        };
        return Enum.IsDefined(format);
    }
}
