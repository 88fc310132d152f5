using System.Diagnostics;

namespace BRun.Diagnostics.Infrastructure.Telemetry;

/// <summary>
/// The names under which this product emits traces and metrics, and its one <see cref="ActivitySource"/>. Hosts
/// subscribe to these names (ServiceDefaults); with no listener an activity costs nothing.
/// </summary>
public static class DiagnosticsTelemetry
{
    public const string SourceName = "BRun.Diagnostics";
    public const string MeterName = "BRun.Diagnostics";

    /// <summary>One per process, as the .NET tracing guidance asks: sources are looked up by name, not injected.</summary>
    public static readonly ActivitySource Source = new(SourceName);

    /// <summary>GenAI semantic-convention attribute names (OpenTelemetry semconv, gen-ai registry).</summary>
    public static class GenAi
    {
        public const string ProviderName = "gen_ai.provider.name";
        public const string OperationName = "gen_ai.operation.name";
        public const string RequestModel = "gen_ai.request.model";
        public const string RequestMaxTokens = "gen_ai.request.max_tokens";
        public const string RequestTemperature = "gen_ai.request.temperature";
        public const string ResponseId = "gen_ai.response.id";
        public const string ResponseModel = "gen_ai.response.model";
        public const string ResponseFinishReasons = "gen_ai.response.finish_reasons";
        public const string UsageInputTokens = "gen_ai.usage.input_tokens";
        public const string UsageOutputTokens = "gen_ai.usage.output_tokens";
        public const string UsageCacheReadInputTokens = "gen_ai.usage.cache_read.input_tokens";
        public const string UsageCacheCreationInputTokens = "gen_ai.usage.cache_creation.input_tokens";
        public const string TokenType = "gen_ai.token.type";
        public const string InputMessages = "gen_ai.input.messages";
        public const string OutputMessages = "gen_ai.output.messages";
        public const string ErrorType = "error.type";
        public const string Anthropic = "anthropic";
        public const string Chat = "chat";
    }
}
