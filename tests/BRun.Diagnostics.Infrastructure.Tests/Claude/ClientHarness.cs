using BRun.Diagnostics.Infrastructure.Claude;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Tests.Claude;

/// <summary>A real <see cref="ClaudeMessagesClient"/> over a real HttpClient, with recorded delays and logs.</summary>
internal sealed class ClientHarness : IDisposable
{
    public const string ApiKey = "sk-ant-api03-TESTKEY-never-log-me-7f3a";

    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly ILoggerFactory _loggers;

    public ClientHarness(Uri baseUrl, Action<ClaudeOptions>? configure = null, TimeProvider? time = null)
    {
        // The client tests exercise the SDK-style in-client retries, which the pipeline turns off (the queue retries).
        Options = new ClaudeOptions { ApiKey = ApiKey, BaseUrl = baseUrl.ToString(), RetryHttpErrors = true };
        configure?.Invoke(Options);
        Time = time ?? new InstantDelayTimeProvider();
        _loggers = LoggerFactory.Create(builder => builder.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        Client = new ClaudeMessagesClient(_http, Microsoft.Extensions.Options.Options.Create(Options), Time, _loggers.CreateLogger<ClaudeMessagesClient>());
    }

    public ClaudeOptions Options { get; }
    public TimeProvider Time { get; }
    public ListLoggerProvider Logs { get; } = new();
    public ClaudeMessagesClient Client { get; }

    public IReadOnlyList<TimeSpan> Delays => ((InstantDelayTimeProvider)Time).Delays;

    public void Dispose()
    {
        _loggers.Dispose();
        _http.Dispose();
    }
}
