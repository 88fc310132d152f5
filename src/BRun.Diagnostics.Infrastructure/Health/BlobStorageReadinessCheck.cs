using Azure;
using Azure.Storage.Blobs;
using BRun.Diagnostics.Infrastructure.Blobs;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Health;

/// <summary>
/// Ready when the storage account answers for the report container. A container that does not exist yet is fine:
/// the report store creates it on first upload.
/// </summary>
public sealed class BlobStorageReadinessCheck : IHealthCheck
{
    private readonly BlobContainerClient _container;

    public BlobStorageReadinessCheck(IOptions<BlobStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;

        // One quick try: the probe itself is retried by whoever polls it.
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = 0;
        clientOptions.Retry.NetworkTimeout = TimeSpan.FromSeconds(5);
        _container = new BlobServiceClient(settings.ConnectionString, clientOptions).GetBlobContainerClient(settings.ContainerName);
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var exists = await _container.ExistsAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy(exists.Value
                ? $"Blob storage answers; container '{_container.Name}' exists."
                : $"Blob storage answers; container '{_container.Name}' will be created on the first report.");
        }
        catch (Exception ex) when (ex is RequestFailedException or AggregateException or HttpRequestException or TimeoutException or OperationCanceledException)
        {
            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            return HealthCheckResult.Unhealthy($"Blob storage is unreachable: {ex.Message}", ex);
        }
    }
}
