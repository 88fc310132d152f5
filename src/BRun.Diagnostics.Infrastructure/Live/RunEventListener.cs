using System.Net.Sockets;
using BRun.Diagnostics.Infrastructure.Pipeline;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace BRun.Diagnostics.Infrastructure.Live;

/// <summary>
/// Holds one dedicated connection that LISTENs on <see cref="GenerationQueue.EventsChannel"/> and forwards each
/// decoded <see cref="RunEvent"/> to the <see cref="LiveEventHub"/>. When the connection is lost (a database
/// restart) it reconnects with exponential backoff, and then asks subscribers to resync, since NOTIFYs sent while
/// nobody listened are gone.
/// </summary>
public sealed partial class RunEventListener(
    NpgsqlDataSource dataSource,
    LiveEventHub hub,
    IOptions<LiveEventOptions> options,
    TimeProvider timeProvider,
    ILogger<RunEventListener> logger) : BackgroundService
{
    private readonly LiveEventOptions _options = options.Value;
    private int _connectedCount;

    /// <summary>How many times the LISTEN connection has been established (tests and diagnostics).</summary>
    public int ConnectedCount => Volatile.Read(ref _connectedCount);

    private volatile bool _listening;

    /// <summary>True while the LISTEN connection is up (readiness reports it).</summary>
    public bool IsListening => _listening;

    /// <summary>Raised each time the listener is (re)connected and listening.</summary>
    public event EventHandler? Listening;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = _options.InitialReconnectDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenUntilLostAsync(stoppingToken, onListening: () => delay = _options.InitialReconnectDelay).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or SocketException or IOException or TimeoutException)
            {
                _listening = false;
                Log.ConnectionLost(logger, ex, delay);
                try
                {
                    await Task.Delay(delay, timeProvider, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
            }
        }
    }

    private async Task ListenUntilLostAsync(CancellationToken stoppingToken, Action onListening)
    {
        // Not from the pool's rotation in spirit: this connection stays open for the life of the host.
        await using var connection = await dataSource.OpenConnectionAsync(stoppingToken).ConfigureAwait(false);
        connection.Notification += OnNotification;
        await using (var listen = new NpgsqlCommand($"LISTEN {GenerationQueue.EventsChannel}", connection))
        {
            await listen.ExecuteNonQueryAsync(stoppingToken).ConfigureAwait(false);
        }

        onListening();
        _listening = true;
        if (Interlocked.Increment(ref _connectedCount) > 1)
        {
            // Events published while we were away are lost: everyone reloads what they show.
            hub.PublishResync();
            Log.Reconnected(logger);
        }
        else
        {
            Log.Listening(logger, GenerationQueue.EventsChannel);
        }

        Listening?.Invoke(this, EventArgs.Empty);
        while (!stoppingToken.IsCancellationRequested)
        {
            await connection.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs args)
    {
        if (RunEvents.TryDeserialize(args.Payload) is { } runEvent)
        {
            hub.Publish(runEvent);
        }
        else
        {
            Log.UnreadablePayload(logger, args.Channel);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Listening for run events on channel {Channel}")]
        public static partial void Listening(ILogger logger, string channel);

        [LoggerMessage(EventId = 5102, Level = LogLevel.Warning, Message = "Run-event LISTEN connection lost; reconnecting in {Delay}")]
        public static partial void ConnectionLost(ILogger logger, Exception exception, TimeSpan delay);

        [LoggerMessage(EventId = 5103, Level = LogLevel.Information, Message = "Run-event listener reconnected; subscribers will resync")]
        public static partial void Reconnected(ILogger logger);

        [LoggerMessage(EventId = 5104, Level = LogLevel.Debug, Message = "Ignored an unreadable payload on channel {Channel}")]
        public static partial void UnreadablePayload(ILogger logger, string channel);
    }
}
