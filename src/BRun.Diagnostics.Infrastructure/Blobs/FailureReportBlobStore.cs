using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Options;

namespace BRun.Diagnostics.Infrastructure.Blobs;

/// <summary>Stores error report files.</summary>
public interface IFailureReportBlobStore
{
    /// <summary>Writes the report at <paramref name="path"/>, replacing any earlier copy (reports are deterministic).</summary>
    /// <exception cref="ReportStorageException">The storage could not be reached or refused the write.</exception>
    Task UploadAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken);

    /// <summary>Reads the report, or null when there is none at <paramref name="path"/>.</summary>
    /// <exception cref="ReportStorageException">The storage could not be reached.</exception>
    Task<byte[]?> DownloadAsync(string path, CancellationToken cancellationToken);

    /// <summary>
    /// Opens the report for reading as a stream (the bytes arrive as they are read, nothing is buffered whole),
    /// or null when there is none at <paramref name="path"/>. The caller disposes the stream.
    /// </summary>
    /// <exception cref="ReportStorageException">The storage could not be reached.</exception>
    Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken);

    /// <summary>Deletes the report; false when there was none at <paramref name="path"/> (already deleted, or never uploaded).</summary>
    /// <exception cref="ReportStorageException">The storage could not be reached or refused the delete.</exception>
    Task<bool> DeleteAsync(string path, CancellationToken cancellationToken);
}

/// <summary>A blob call failed (storage down, refused, timed out). The caller decides whether to retry later.</summary>
public sealed class ReportStorageException(string message, Exception innerException) : Exception(message, innerException);

/// <summary>Error reports in Azure Blob Storage (Azurite locally), in a private container.</summary>
public sealed class AzureFailureReportBlobStore : IFailureReportBlobStore
{
    private readonly BlobContainerClient _container;
    private volatile bool _containerReady;

    public AzureFailureReportBlobStore(IOptions<BlobStorageOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var settings = options.Value;
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.MaxRetries = settings.MaxRetries;
        clientOptions.Retry.NetworkTimeout = settings.NetworkTimeout;
        _container = new BlobServiceClient(settings.ConnectionString, clientOptions).GetBlobContainerClient(settings.ContainerName);
    }

    public async Task UploadAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        await Guard(path, async () =>
        {
            await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await UploadBlobAsync(path, content, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex) when (ex.ErrorCode == BlobErrorCode.ContainerNotFound)
            {
                // The container went away after we created it (deleted, or an emulator restarted without
                // persistence): create it again rather than failing every upload from now on.
                _containerReady = false;
                await EnsureContainerAsync(cancellationToken).ConfigureAwait(false);
                await UploadBlobAsync(path, content, cancellationToken).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public Task<byte[]?> DownloadAsync(string path, CancellationToken cancellationToken) =>
        Guard<byte[]?>(path, async () =>
        {
            try
            {
                var result = await _container.GetBlobClient(path).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
                return result.Value.Content.ToArray();
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return null;
            }
        }, cancellationToken);

    public Task<Stream?> OpenReadAsync(string path, CancellationToken cancellationToken) =>
        Guard<Stream?>(path, async () =>
        {
            try
            {
                // The 404 arrives with the response headers, before any byte is handed out, so "missing" is
                // decided here; a fault later in the body is retried by the SDK's retriable stream.
                var result = await _container.GetBlobClient(path).DownloadStreamingAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                return result.Value.Content;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return null;
            }
        }, cancellationToken);

    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken) =>
        Guard(path, async () =>
        {
            try
            {
                // Snapshots are never taken of reports, but a blob with snapshots cannot be deleted without this.
                var result = await _container.GetBlobClient(path)
                    .DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken).ConfigureAwait(false);
                return result.Value;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // No container yet means no report either.
                return false;
            }
        }, cancellationToken);

    private Task UploadBlobAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken) =>
        _container.GetBlobClient(path).UploadAsync(
            BinaryData.FromBytes(content),
            new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = "application/json" } },
            cancellationToken);

    private async Task EnsureContainerAsync(CancellationToken cancellationToken)
    {
        // Created lazily so the host starts even while storage is down; repeated creation is harmless.
        if (!_containerReady)
        {
            await _container.CreateIfNotExistsAsync(PublicAccessType.None, cancellationToken: cancellationToken).ConfigureAwait(false);
            _containerReady = true;
        }
    }

    private static async Task<T> Guard<T>(string path, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (RequestFailedException ex)
        {
            throw new ReportStorageException($"Blob storage failed for '{path}': {ex.Message}", ex);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(inner => inner is RequestFailedException))
        {
            // The SDK's retry policy aggregates the failures of every attempt.
            throw new ReportStorageException($"Blob storage failed for '{path}' on every attempt: {ex.InnerExceptions[^1].Message}", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ReportStorageException($"Blob storage timed out for '{path}'.", ex);
        }
    }
}
