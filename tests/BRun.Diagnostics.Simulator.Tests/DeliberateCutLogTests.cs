using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace BRun.Diagnostics.Simulator.Tests;

/// <summary>The simulator's deliberate connection cuts are logged as what they are, not as Kestrel application errors.</summary>
public sealed class DeliberateCutLogTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_deliberate_cut_is_one_information_line_of_the_simulator_and_no_content_length_mismatch_error(bool stream)
    {
        var entries = new ConcurrentQueue<(string Category, LogLevel Level, int EventId, string Text)>();
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new CapturingProvider(entries)));
        await using var server = await ClaudeSimulatorServer.StartAsync(SimulatorFixture.TestOptions(), "http://127.0.0.1:0", loggerFactory, TimeProvider.System, CancellationToken.None);
        using var http = new HttpClient();

        var reply = await SimulatorFixture.PostAsync(http, server.BaseUrl, $"{SimulatorScenario.StreamCut.Marker()} log {Guid.NewGuid():N}", stream);

        Assert.True(reply.ConnectionCut);
        var cut = Assert.Single(entries, e => e.EventId == Log.DeliberateCutId);
        Assert.Equal(LogLevel.Information, cut.Level);
        Assert.DoesNotContain(entries, e => e.Text.Contains("Content-Length mismatch", StringComparison.Ordinal) || e.Level >= LogLevel.Error);
    }

    private sealed class CapturingProvider(ConcurrentQueue<(string, LogLevel, int, string)> entries) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Capturing(categoryName, entries);

        public void Dispose()
        {
        }
    }

    private sealed class Capturing(string category, ConcurrentQueue<(string, LogLevel, int, string)> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue((category, logLevel, eventId.Id, formatter(state, exception) + " " + exception?.Message));
    }
}
