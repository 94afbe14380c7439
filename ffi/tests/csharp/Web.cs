// A transport and a step-API sender over HttpWebRequest, carrying requests to the fake
// Twitch as a console SDK's or engine's HTTP stack would.
using System;
using System.IO;
using System.Net;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops;

/// <summary>A transport over HttpWebRequest: any status is an answer, no redirects followed.</summary>
sealed class WebTransport
{
    public int Calls;

    /// <summary>As a DropsHttpSender for the step API: sent on the thread pool, never blocking
    /// the caller.</summary>
    public Task<DropsHttpResponse> SendAsync(DropsHttpRequest request, CancellationToken cancellation)
    {
        return Task.Run(() => Send(request), cancellation);
    }

    public DropsHttpResponse Send(DropsHttpRequest request)
    {
        Interlocked.Increment(ref Calls);
        var web = (HttpWebRequest)WebRequest.Create(request.Url);
        web.Method = request.Method;
        web.AllowAutoRedirect = false;
        web.Proxy = null;
        foreach (var header in request.Headers)
        {
            if (string.Equals(header.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)) web.ContentType = header.Value;
            else if (string.Equals(header.Key, "User-Agent", StringComparison.OrdinalIgnoreCase)) web.UserAgent = header.Value;
            else if (string.Equals(header.Key, "Accept", StringComparison.OrdinalIgnoreCase)) web.Accept = header.Value;
            else web.Headers.Add(header.Key, header.Value);
        }
        try
        {
            if (request.Body.Length > 0)
            {
                using (var stream = web.GetRequestStream()) stream.Write(request.Body, 0, request.Body.Length);
            }
            HttpWebResponse response;
            try
            {
                response = (HttpWebResponse)web.GetResponse();
            }
            catch (WebException e) when (e.Response != null)
            {
                response = (HttpWebResponse)e.Response;
            }
            using (response)
            using (var body = new MemoryStream())
            {
                using (var stream = response.GetResponseStream()) stream.CopyTo(body);
                var answer = new DropsHttpResponse((int)response.StatusCode) { Body = body.ToArray() };
                foreach (var name in response.Headers.AllKeys)
                {
                    answer.WithHeader(name, response.Headers[name]);
                }
                return answer;
            }
        }
        catch (WebException e) when (e.Status == WebExceptionStatus.ConnectFailure || e.Status == WebExceptionStatus.NameResolutionFailure)
        {
            throw new DropsTransportException(TransportErrorKind.Connect, e.Message, e);
        }
        catch (WebException e)
        {
            throw new DropsTransportException(TransportErrorKind.Interrupted, e.Message, e);
        }
    }
}
