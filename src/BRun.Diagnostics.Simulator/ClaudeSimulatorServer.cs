using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Simulator;

/// <summary>
/// A fake Claude on its own Kestrel listener. It reads no configuration files, so it can run inside another host
/// (see <see cref="SimulatorServiceCollectionExtensions.AddClaudeSimulator"/>) without picking up that host's settings.
/// </summary>
public sealed class ClaudeSimulatorServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly SimulatorState _state;
    private readonly OrganizationRateLimiter _limiter;

    private readonly SimulatedBatchStore _batches;

    private ClaudeSimulatorServer(WebApplication app, SimulatorState state, OrganizationRateLimiter limiter, SimulatedBatchStore batches, Uri baseUrl)
    {
        _app = app;
        _state = state;
        _batches = batches;
        _limiter = limiter;
        BaseUrl = baseUrl;
    }

    /// <summary>Where to point the client (<c>ClaudeOptions.BaseUrl</c>); /v1/messages lives under it.</summary>
    public Uri BaseUrl { get; }

    /// <summary>Requests to /v1/messages that reached the scenario logic.</summary>
    public int RequestCount => _state.RequestCount;

    /// <summary>Message batches created (POST /v1/messages/batches that were accepted).</summary>
    public int BatchCount => _batches.Count;

    /// <summary>Every body received, in arrival order; empty unless <see cref="SimulatorOptions.RecordRequestBodies"/> is on.</summary>
    public IReadOnlyList<ReceivedRequest> ReceivedRequests => _state.Received;

    /// <summary>How many requests carried this exact prompt.</summary>
    public int AttemptsFor(string prompt) => _state.AttemptsFor(prompt);

    /// <summary>The organisation limits' own accounting: what was admitted (with its tokens) and what was refused.</summary>
    public SimulatorRateLimitStats RateLimitStats => _limiter.Stats();

    /// <param name="options">Validated here; an invalid set throws <see cref="ValidationException"/>.</param>
    /// <param name="url">Listen address; port 0 picks a free port.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    public static Task<ClaudeSimulatorServer> StartAsync(
        SimulatorOptions options,
        string url = "http://127.0.0.1:0",
        CancellationToken cancellationToken = default) =>
        StartAsync(options, url, loggerFactory: null, TimeProvider.System, cancellationToken);

    internal static async Task<ClaudeSimulatorServer> StartAsync(
        SimulatorOptions options,
        string url,
        ILoggerFactory? loggerFactory,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validator.ValidateObject(options, new ValidationContext(options), validateAllProperties: true);

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().UseUrls(url);
        builder.Services.AddRoutingCore();
        builder.Services.AddLogging(logging =>
        {
            if (loggerFactory is not null)
            {
                logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
            }
        });

        var state = new SimulatorState();
        var batches = new SimulatedBatchStore();
        var limiter = new OrganizationRateLimiter(options, time);
        builder.Services.AddSingleton(Options.Create(options));
        builder.Services.AddSingleton(state);
        builder.Services.AddSingleton(limiter);
        builder.Services.AddSingleton(time);
        builder.Services.AddSingleton<MessagesEndpoint>();
        builder.Services.AddSingleton(batches);
        builder.Services.AddSingleton<BatchesEndpoint>();
        builder.Services.AddSingleton<CountTokensEndpoint>();

        var app = builder.Build();
        app.UseRouting();
        app.MapPost("/v1/messages", (HttpContext context, MessagesEndpoint endpoint) => endpoint.HandleAsync(context));
        app.MapPost("/v1/messages/batches", (HttpContext context, BatchesEndpoint endpoint) => endpoint.CreateAsync(context));
        app.MapGet("/v1/messages/batches", (HttpContext context, BatchesEndpoint endpoint) => endpoint.ListAsync(context));
        app.MapGet("/v1/messages/batches/{id}", (HttpContext context, string id, BatchesEndpoint endpoint) => endpoint.RetrieveAsync(context, id));
        app.MapPost("/v1/messages/batches/{id}/cancel", (HttpContext context, string id, BatchesEndpoint endpoint) => endpoint.CancelAsync(context, id));
        app.MapDelete("/v1/messages/batches/{id}", (HttpContext context, string id, BatchesEndpoint endpoint) => endpoint.DeleteAsync(context, id));
        app.MapGet("/v1/messages/batches/{id}/results", (HttpContext context, string id, BatchesEndpoint endpoint) => endpoint.ResultsAsync(context, id));
        app.MapPost("/v1/messages/count_tokens", (HttpContext context, CountTokensEndpoint endpoint) => endpoint.HandleAsync(context));

        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        var server = new ClaudeSimulatorServer(app, state, limiter, batches, new Uri(address));
        Log.Started(app.Services.GetRequiredService<ILogger<ClaudeSimulatorServer>>(), server.BaseUrl);
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Sends the inner server's logs to the hosting application's logging, except Kestrel's "Response Content-Length
    /// mismatch" application errors: those are the simulator's deliberate connection cuts (it promises a length and
    /// sends less, so Kestrel closes the connection), already logged as what they are by <see cref="Log.DeliberateCut"/>.
    /// Every other Kestrel error still goes through.
    /// </summary>
    private sealed class ForwardingLoggerProvider(ILoggerFactory target) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName)
        {
            var logger = target.CreateLogger(categoryName);
            return categoryName.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) ? new DeliberateCutFilter(logger) : logger;
        }

        public void Dispose()
        {
            // The target factory belongs to the outer host, which disposes it.
        }
    }

    private sealed class DeliberateCutFilter(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsDeliberateCut(exception))
            {
                return;
            }

            inner.Log(logLevel, eventId, state, exception, formatter);
        }

        internal static bool IsDeliberateCut(Exception? exception) =>
            exception is InvalidOperationException { Message: var message }
            && message.StartsWith("Response Content-Length mismatch: too few bytes written", StringComparison.Ordinal);
    }
}
