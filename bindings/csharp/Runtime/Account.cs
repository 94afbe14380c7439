// User accounts and reports: the device-code login (a player links their Twitch account),
// user tokens (refreshed by the core, read back to be stored), token validation, analytics
// pages and report downloads. Each call is blocking, a Task, and a step-API operation.
// Tokens are credentials: ToString never shows them.
using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using TwitchDrops.Native;

namespace TwitchDrops
{
    /// <summary>What Twitch says about a token (<c>GET /oauth2/validate</c>).</summary>
    public sealed class TokenInfo
    {
        /// <summary>The application it was issued to.</summary>
        public string ClientId { get; internal set; }
        /// <summary>The user's login; "" for an app token.</summary>
        public string Login { get; internal set; }
        /// <summary>The user's id; "" for an app token.</summary>
        public string UserId { get; internal set; }
        /// <summary>Seconds until it expires.</summary>
        public long ExpiresIn { get; internal set; }
        /// <summary>Its scopes.</summary>
        public IReadOnlyList<string> Scopes { get; internal set; }

        internal static unsafe TokenInfo Copy(td_token_info* info)
        {
            var scopes = new List<string>();
            var count = (ulong)NativeMethods.td_token_info_scope_count(info);
            for (ulong i = 0; i < count; i++)
            {
                td_str scope;
                Failures.Check(NativeMethods.td_token_info_scope(info, (UIntPtr)i, &scope), "token scope");
                scopes.Add(Utf8.Of(scope));
            }
            return new TokenInfo
            {
                ClientId = Utf8.Of(NativeMethods.td_token_info_client_id(info)),
                Login = Utf8.Of(NativeMethods.td_token_info_login(info)),
                UserId = Utf8.Of(NativeMethods.td_token_info_user_id(info)),
                ExpiresIn = (long)NativeMethods.td_token_info_expires_in(info),
                Scopes = scopes,
            };
        }

        /// <summary>Who and which scopes (a TokenInfo holds no credential).</summary>
        public override string ToString()
        {
            return "TokenInfo(" + (Login.Length > 0 ? Login + " " + UserId : "app") + ", " + string.Join(" ", Scopes) + ")";
        }
    }

    /// <summary>A device-code login under way: show <see cref="UserCode"/> and
    /// <see cref="VerificationUri"/> to the player, then finish it. Dispose it when done.</summary>
    public sealed class DeviceCode : IDisposable
    {
        internal readonly DeviceCodeHandle Handle;

        internal unsafe DeviceCode(DeviceCodeHandle handle)
        {
            Handle = handle;
            using (var d = handle.Use())
            {
                var code = (td_device_code*)d.Pointer;
                UserCode = Utf8.Of(NativeMethods.td_device_code_user_code(code));
                VerificationUri = Utf8.Of(NativeMethods.td_device_code_verification_uri(code));
                ExpiresIn = (long)NativeMethods.td_device_code_expires_in(code);
                Interval = (long)NativeMethods.td_device_code_interval(code);
            }
        }

        /// <summary>The code the player types (or that the URI already carries).</summary>
        public string UserCode { get; private set; }
        /// <summary>Where the player approves the login.</summary>
        public string VerificationUri { get; private set; }
        /// <summary>Seconds the code is valid.</summary>
        public long ExpiresIn { get; private set; }
        /// <summary>Seconds between polls, as Twitch asks.</summary>
        public long Interval { get; private set; }

        /// <summary>Frees it. Safe to call twice.</summary>
        public void Dispose() { Handle.Dispose(); }

        /// <summary>The user code and URI (the device code itself is left out).</summary>
        public override string ToString() { return "DeviceCode(" + UserCode + " at " + VerificationUri + ")"; }
    }

    /// <summary>A user access token and refresh token (credentials: store them safely, never
    /// log them; <see cref="ToString"/> leaves them out).</summary>
    public sealed class OAuthToken
    {
        /// <summary>The access token.</summary>
        public string AccessToken { get; internal set; }
        /// <summary>The refresh token ("" when none).</summary>
        public string RefreshToken { get; internal set; }
        /// <summary>Seconds until the access token expires when it was issued.</summary>
        public long ExpiresIn { get; internal set; }
        /// <summary>Its scopes.</summary>
        public IReadOnlyList<string> Scopes { get; internal set; }

        internal static unsafe OAuthToken Copy(td_oauth_token* token)
        {
            var scopes = new List<string>();
            var count = (ulong)NativeMethods.td_oauth_token_scope_count(token);
            for (ulong i = 0; i < count; i++)
            {
                td_str scope;
                Failures.Check(NativeMethods.td_oauth_token_scope(token, (UIntPtr)i, &scope), "token scope");
                scopes.Add(Utf8.Of(scope));
            }
            return new OAuthToken
            {
                AccessToken = Utf8.Of(NativeMethods.td_oauth_token_access_token(token)),
                RefreshToken = Utf8.Of(NativeMethods.td_oauth_token_refresh_token(token)),
                ExpiresIn = (long)NativeMethods.td_oauth_token_expires_in(token),
                Scopes = scopes,
            };
        }

        /// <summary>Scopes and expiry; the tokens are shown as &lt;redacted&gt;.</summary>
        public override string ToString()
        {
            return "OAuthToken(<redacted>, expires in " + ExpiresIn + " s, " + string.Join(" ", Scopes) + ")";
        }
    }

    /// <summary>Filters for <see cref="DropsClient.GameAnalytics"/>; limits are checked by the
    /// native library (<see cref="DropsInvalidInputException"/> naming the field).</summary>
    public sealed class AnalyticsQuery
    {
        /// <summary>Only this game's reports.</summary>
        public string GameId { get; set; }
        /// <summary>The report type (<c>overview_v2</c>).</summary>
        public string Type { get; set; }
        /// <summary>The range's first day (RFC 3339); give both ends or neither.</summary>
        public string StartedAt { get; set; }
        /// <summary>The range's last day (RFC 3339).</summary>
        public string EndedAt { get; set; }
        /// <summary>Page size, 1-100.</summary>
        public int? First { get; set; }
        /// <summary>The cursor to start after.</summary>
        public string After { get; set; }

        internal unsafe AnalyticsQueryHandle ToNative()
        {
            var query = new AnalyticsQueryHandle();
            query.Own((IntPtr)NativeMethods.td_analytics_query_new());
            using (var lease = query.Use())
            {
                var q = (td_analytics_query*)lease.Pointer;
                if (GameId != null)
                {
                    fixed (byte* p = Utf8.Z(GameId, "GameId")) Failures.Check(NativeMethods.td_analytics_query_set_game_id(q, p), "set_game_id");
                }
                if (Type != null)
                {
                    fixed (byte* p = Utf8.Z(Type, "Type")) Failures.Check(NativeMethods.td_analytics_query_set_type(q, p), "set_type");
                }
                if (StartedAt != null || EndedAt != null)
                {
                    var start = StartedAt == null ? null : Utf8.Z(StartedAt, "StartedAt");
                    var end = EndedAt == null ? null : Utf8.Z(EndedAt, "EndedAt");
                    fixed (byte* s = start)
                    fixed (byte* e = end)
                    {
                        Failures.Check(NativeMethods.td_analytics_query_set_range(q, s, e), "set_range");
                    }
                }
                if (First.HasValue)
                {
                    Failures.Check(NativeMethods.td_analytics_query_set_first(q, unchecked((uint)First.Value)), "set_first");
                }
                if (After != null)
                {
                    fixed (byte* p = Utf8.Z(After, "After")) Failures.Check(NativeMethods.td_analytics_query_set_after(q, p), "set_after");
                }
            }
            return query;
        }
    }

    /// <summary>One analytics report: a CSV to download from <see cref="Url"/> (valid minutes).</summary>
    public sealed class AnalyticsReport
    {
        /// <summary>The game.</summary>
        public string GameId { get; internal set; }
        /// <summary>Where to download it (<see cref="DropsClient.DownloadReport"/>).</summary>
        public string Url { get; internal set; }
        /// <summary>The report type.</summary>
        public string Type { get; internal set; }
        /// <summary>The range's start.</summary>
        public string StartedAt { get; internal set; }
        /// <summary>The range's end.</summary>
        public string EndedAt { get; internal set; }

        /// <summary>The game, type and range (the URL is signed: left out).</summary>
        public override string ToString() { return "AnalyticsReport(" + GameId + ", " + Type + ", " + StartedAt + " - " + EndedAt + ")"; }
    }

    /// <summary>A page of analytics reports and the cursor of the next ("" at the end).</summary>
    public sealed class AnalyticsPage
    {
        /// <summary>The reports.</summary>
        public IReadOnlyList<AnalyticsReport> Reports { get; internal set; }
        /// <summary>The next page's cursor, "" at the end.</summary>
        public string Cursor { get; internal set; }

        internal static unsafe AnalyticsPage Copy(td_analytics_page* page)
        {
            var reports = new List<AnalyticsReport>();
            var count = (ulong)NativeMethods.td_analytics_page_count(page);
            for (ulong i = 0; i < count; i++)
            {
                var r = NativeMethods.td_analytics_page_get(page, (UIntPtr)i);
                reports.Add(new AnalyticsReport
                {
                    GameId = Utf8.Of(NativeMethods.td_analytics_report_game_id(r)),
                    Url = Utf8.Of(NativeMethods.td_analytics_report_url(r)),
                    Type = Utf8.Of(NativeMethods.td_analytics_report_type(r)),
                    StartedAt = Utf8.Of(NativeMethods.td_analytics_report_started_at(r)),
                    EndedAt = Utf8.Of(NativeMethods.td_analytics_report_ended_at(r)),
                });
            }
            return new AnalyticsPage { Reports = reports, Cursor = Utf8.Of(NativeMethods.td_analytics_page_cursor(page)) };
        }
    }

    public sealed partial class DropsClient
    {
        /// <summary>Runs a blocking call on the thread pool. Cancelling stops the wait with
        /// <see cref="OperationCanceledException"/>; a call already under way runs to its end in
        /// the background (to abandon the work itself, use the <c>Begin…</c> operation's
        /// <see cref="DropsOperation{T}.RunAsync"/>).</summary>
        private static async Task<T> Blocking<T>(Func<T> call, CancellationToken cancellation)
        {
            cancellation.ThrowIfCancellationRequested();
            var task = Task.Run(call);
            if (cancellation.CanBeCanceled)
            {
                var cancelled = new TaskCompletionSource<bool>();
                using (cancellation.Register(() => cancelled.TrySetResult(true)))
                {
                    if (await Task.WhenAny(task, cancelled.Task).ConfigureAwait(false) != task)
                    {
                        throw new OperationCanceledException(cancellation);
                    }
                }
            }
            return await task.ConfigureAwait(false);
        }

        /// <summary>A page of analytics reports (blocking); needs a user token with
        /// <c>analytics:read:games</c>.</summary>
        public unsafe AnalyticsPage GameAnalytics(AnalyticsQuery query)
        {
            if (query == null) throw new ArgumentNullException("query");
            using (var nativeQuery = query.ToNative())
            using (var q = nativeQuery.Use())
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            {
                td_analytics_page* page = null;
                Failures.Check(NativeMethods.td_client_game_analytics((td_client*)c.Pointer, (td_analytics_query*)q.Pointer, &page,
                    (td_error*)e.Pointer), error);
                using (var owned = new AnalyticsPageHandle())
                {
                    owned.Own((IntPtr)page);
                    return AnalyticsPage.Copy(page);
                }
            }
        }

        /// <summary><see cref="GameAnalytics"/> on the thread pool.</summary>
        public Task<AnalyticsPage> GameAnalyticsAsync(AnalyticsQuery query, CancellationToken cancellation = default(CancellationToken))
        {
            if (query == null) throw new ArgumentNullException("query");
            return Blocking(() => GameAnalytics(query), cancellation);
        }

        /// <summary>Step API: <see cref="GameAnalytics"/>.</summary>
        public unsafe DropsOperation<AnalyticsPage> BeginGameAnalytics(AnalyticsQuery query)
        {
            if (query == null) throw new ArgumentNullException("query");
            using (var nativeQuery = query.ToNative())
            using (var q = nativeQuery.Use())
            {
                var pointer = q.Pointer;
                return Begin((c, slot, e) => NativeMethods.td_client_begin_game_analytics(
                    (td_client*)c, (td_analytics_query*)pointer, (td_op**)slot, (td_error*)e), TakeAnalytics, null);
            }
        }

        private static unsafe AnalyticsPage TakeAnalytics(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_analytics_page* page = null;
                Failures.Check(NativeMethods.td_op_take_analytics_page((td_op*)op, &page, (td_error*)e.Pointer), error);
                using (var owned = new AnalyticsPageHandle())
                {
                    owned.Own((IntPtr)page);
                    return AnalyticsPage.Copy(page);
                }
            }
        }

        /// <summary>Downloads a report's CSV (<see cref="AnalyticsReport.Url"/>), blocking; no
        /// credentials are sent.</summary>
        public unsafe byte[] DownloadReport(string url)
        {
            var text = Utf8.Z(url, "url");
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            fixed (byte* u = text)
            {
                td_bytes* bytes = null;
                Failures.Check(NativeMethods.td_client_download_report((td_client*)c.Pointer, u, &bytes, (td_error*)e.Pointer), error);
                return CopyBytes(bytes);
            }
        }

        private static unsafe byte[] CopyBytes(td_bytes* bytes)
        {
            using (var owned = new BytesHandle())
            {
                owned.Own((IntPtr)bytes);
                var copy = new byte[checked((int)(ulong)NativeMethods.td_bytes_len(bytes))];
                if (copy.Length > 0) Marshal.Copy((IntPtr)NativeMethods.td_bytes_data(bytes), copy, 0, copy.Length);
                return copy;
            }
        }

        /// <summary><see cref="DownloadReport"/> on the thread pool.</summary>
        public Task<byte[]> DownloadReportAsync(string url, CancellationToken cancellation = default(CancellationToken))
        {
            if (url == null) throw new ArgumentNullException("url");
            return Blocking(() => DownloadReport(url), cancellation);
        }

        /// <summary>Step API: <see cref="DownloadReport"/>.</summary>
        public unsafe DropsOperation<byte[]> BeginDownloadReport(string url)
        {
            var text = Utf8.Z(url, "url");
            fixed (byte* u = text)
            {
                var pointer = (IntPtr)u;
                return Begin((c, slot, e) => NativeMethods.td_client_begin_download_report(
                    (td_client*)c, (byte*)pointer, (td_op**)slot, (td_error*)e), TakeBytes, null);
            }
        }

        private static unsafe byte[] TakeBytes(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_bytes* bytes = null;
                Failures.Check(NativeMethods.td_op_take_bytes((td_op*)op, &bytes, (td_error*)e.Pointer), error);
                return CopyBytes(bytes);
            }
        }

        /// <summary>Asks Twitch about the client's token (blocking; renewed once on a 401).</summary>
        public unsafe TokenInfo ValidateToken()
        {
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            {
                td_token_info* info = null;
                Failures.Check(NativeMethods.td_client_validate_token((td_client*)c.Pointer, &info, (td_error*)e.Pointer), error);
                using (var owned = new TokenInfoHandle())
                {
                    owned.Own((IntPtr)info);
                    return TokenInfo.Copy(info);
                }
            }
        }

        /// <summary><see cref="ValidateToken"/> on the thread pool.</summary>
        public Task<TokenInfo> ValidateTokenAsync(CancellationToken cancellation = default(CancellationToken))
        {
            return Blocking(ValidateToken, cancellation);
        }

        /// <summary>Step API: <see cref="ValidateToken"/>.</summary>
        public unsafe DropsOperation<TokenInfo> BeginValidateToken()
        {
            return Begin((c, slot, e) => NativeMethods.td_client_begin_validate_token((td_client*)c, (td_op**)slot, (td_error*)e),
                TakeTokenInfo, null);
        }

        private static unsafe TokenInfo TakeTokenInfo(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_token_info* info = null;
                Failures.Check(NativeMethods.td_op_take_token_info((td_op*)op, &info, (td_error*)e.Pointer), error);
                using (var owned = new TokenInfoHandle())
                {
                    owned.Own((IntPtr)info);
                    return TokenInfo.Copy(info);
                }
            }
        }

        /// <summary>Starts a device-code login for <paramref name="scopes"/> (blocking): show
        /// the code, then <see cref="FinishDeviceFlow"/>.</summary>
        public unsafe DeviceCode StartDeviceFlow(IEnumerable<string> scopes)
        {
            if (scopes == null) throw new ArgumentNullException("scopes");
            using (var strings = new NativeStrings(scopes, "scopes"))
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            {
                td_device_code* code = null;
                Failures.Check(NativeMethods.td_client_start_device_flow((td_client*)c.Pointer, (byte**)strings.Array,
                    (UIntPtr)strings.Count, &code, (td_error*)e.Pointer), error);
                var owned = new DeviceCodeHandle();
                owned.Own((IntPtr)code);
                return new DeviceCode(owned);
            }
        }

        /// <summary><see cref="StartDeviceFlow"/> on the thread pool.</summary>
        public Task<DeviceCode> StartDeviceFlowAsync(IEnumerable<string> scopes, CancellationToken cancellation = default(CancellationToken))
        {
            if (scopes == null) throw new ArgumentNullException("scopes");
            var copy = scopes.ToList();
            return Blocking(() => StartDeviceFlow(copy), cancellation);
        }

        /// <summary>Step API: <see cref="StartDeviceFlow"/>.</summary>
        public unsafe DropsOperation<DeviceCode> BeginStartDeviceFlow(IEnumerable<string> scopes)
        {
            if (scopes == null) throw new ArgumentNullException("scopes");
            using (var strings = new NativeStrings(scopes, "scopes"))
            {
                var array = strings.Array;
                var count = strings.Count;
                return Begin((c, slot, e) => NativeMethods.td_client_begin_start_device_flow((td_client*)c, (byte**)array,
                    (UIntPtr)count, (td_op**)slot, (td_error*)e), TakeDeviceCode, null);
            }
        }

        private static unsafe DeviceCode TakeDeviceCode(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_device_code* code = null;
                Failures.Check(NativeMethods.td_op_take_device_code((td_op*)op, &code, (td_error*)e.Pointer), error);
                var owned = new DeviceCodeHandle();
                owned.Own((IntPtr)code);
                return new DeviceCode(owned);
            }
        }

        /// <summary>Waits (blocking, polling as Twitch asks) until the player approves the
        /// login, refuses it, or the code expires; from then on this client uses the player's
        /// token (refreshed when it expires), also returned to be stored.</summary>
        public unsafe OAuthToken FinishDeviceFlow(DeviceCode code)
        {
            if (code == null) throw new ArgumentNullException("code");
            using (var d = code.Handle.Use())
            using (var error = ErrorHandle.New())
            using (var e = error.Use())
            using (var c = handle.Use())
            {
                td_oauth_token* token = null;
                Failures.Check(NativeMethods.td_client_finish_device_flow((td_client*)c.Pointer, (td_device_code*)d.Pointer, &token,
                    (td_error*)e.Pointer), error);
                return OwnToken(token);
            }
        }

        private static unsafe OAuthToken OwnToken(td_oauth_token* token)
        {
            using (var owned = new OAuthTokenHandle())
            {
                owned.Own((IntPtr)token);
                return OAuthToken.Copy(token);
            }
        }

        /// <summary><see cref="FinishDeviceFlow"/> on the thread pool (cancelling stops the
        /// wait only: to stop polling Twitch, drive <see cref="BeginFinishDeviceFlow"/>).</summary>
        public Task<OAuthToken> FinishDeviceFlowAsync(DeviceCode code, CancellationToken cancellation = default(CancellationToken))
        {
            if (code == null) throw new ArgumentNullException("code");
            return Blocking(() => FinishDeviceFlow(code), cancellation);
        }

        /// <summary>Step API: <see cref="FinishDeviceFlow"/>; the waits between polls are Sleep
        /// steps, so a game loop shows the code while it waits.</summary>
        public unsafe DropsOperation<OAuthToken> BeginFinishDeviceFlow(DeviceCode code)
        {
            if (code == null) throw new ArgumentNullException("code");
            using (var d = code.Handle.Use())
            {
                var pointer = d.Pointer;
                return Begin((c, slot, e) => NativeMethods.td_client_begin_finish_device_flow((td_client*)c, (td_device_code*)pointer,
                    (td_op**)slot, (td_error*)e), TakeOAuthToken, code.Handle);
            }
        }

        private static unsafe OAuthToken TakeOAuthToken(IntPtr op, ErrorHandle error)
        {
            using (var e = error.Use())
            {
                td_oauth_token* token = null;
                Failures.Check(NativeMethods.td_op_take_oauth_token((td_op*)op, &token, (td_error*)e.Pointer), error);
                return OwnToken(token);
            }
        }

        /// <summary>The client's current user token and refresh token, to store between runs
        /// (Twitch may rotate the refresh token at each refresh); null for app tokens and
        /// <see cref="DropsClientConfig.AccessToken"/>.</summary>
        public unsafe OAuthToken UserToken
        {
            get
            {
                using (var c = handle.Use())
                {
                    td_oauth_token* token = null;
                    var result = NativeMethods.td_client_user_token((td_client*)c.Pointer, &token);
                    if (result == td_result.TD_NOT_AVAILABLE) return null;
                    Failures.Check(result, "user_token");
                    return OwnToken(token);
                }
            }
        }

        /// <summary>The rate limit as Twitch last reported it: points per minute, points left,
        /// and when the bucket refills (null before any answer).</summary>
        public unsafe DropsRateLimit RateLimit
        {
            get
            {
                using (var c = handle.Use())
                {
                    uint limit, remaining;
                    ulong reset;
                    if (NativeMethods.td_client_rate_limit((td_client*)c.Pointer, &limit, &remaining, &reset) != td_result.TD_OK)
                    {
                        return null;
                    }
                    return new DropsRateLimit
                    {
                        Limit = (int)limit,
                        Remaining = (int)remaining,
                        ResetAt = DateTimeOffset.FromUnixTimeSeconds((long)Math.Min(reset, (ulong)long.MaxValue / 1000)),
                    };
                }
            }
        }
    }

    /// <summary>Twitch's rate-limit bucket, as last reported.</summary>
    public sealed class DropsRateLimit
    {
        /// <summary>Points per minute.</summary>
        public int Limit { get; internal set; }
        /// <summary>Points left.</summary>
        public int Remaining { get; internal set; }
        /// <summary>When the bucket refills.</summary>
        public DateTimeOffset ResetAt { get; internal set; }
    }
}
