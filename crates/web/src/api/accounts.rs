//! Enterprise and resident accounts (企业、群众账号): the portal form's
//! prefill, rating and asking to reopen (评价、申请重办) the requests the
//! account submitted, and password reset by SMS code (忘记密码), open to
//! every account with a phone on file.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;

use mashangban_app::App;
use mashangban_app::accounts::AskerProfile;
use mashangban_app::input::{OwnRateInput, OwnReopenInput};
use mashangban_app::password_resets::{ResetCodeAnswer, ResetCodeInput, ResetConfirmInput};
use mashangban_app::views::PublicView;
use mashangban_domain::access::Permission;
use mashangban_store::Store;

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::Path;
use crate::json::JsonBody;
use crate::routes::Route;

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let own = Permission::ActOnOwnRequests;
    let refusals = &["request_not_found", "illegal_transition", "staff_cannot_act_as_asker"];
    vec![
        Route::get("/api/v1/my/profile", profile::<S>)
            .permission(own)
            .doc("accounts", "本账号的诉求人信息（网上提交表单的预填内容：企业、联系人、手机号）")
            .answer::<AskerProfile>(),
        Route::post("/api/v1/my/requests/{no}/rate", rate::<S>)
            .permission(own)
            .doc("accounts", "评价本账号提交的诉求（无需查询码）")
            .body::<OwnRateInput>()
            .answer::<PublicView>()
            .errors(refusals),
        Route::post("/api/v1/my/requests/{no}/reopen-request", request_reopen::<S>)
            .permission(own)
            .doc("accounts", "对本账号提交、评价不满意的诉求申请重办（无需查询码）")
            .body::<OwnReopenInput>()
            .answer::<PublicView>()
            .errors(&[
                "request_not_found",
                "illegal_transition",
                "staff_cannot_act_as_asker",
                "reopen_request_not_allowed",
                "reopen_already_requested",
                "text_required",
            ]),
        Route::post("/api/v1/auth/password-reset", send_code::<S>)
            .public()
            .doc("auth", "忘记密码：向账号登记的手机号发送验证码（无论账号是否存在，回答都相同）")
            .body::<ResetCodeInput>()
            .answer::<ResetCodeAnswer>()
            .errors(&["account_required", "rate_limited", "sms_reset_unavailable"]),
        Route::post("/api/v1/auth/password-reset/confirm", confirm::<S>)
            .public()
            .doc("auth", "忘记密码：凭短信验证码设置新密码（该账号的全部会话随即失效）")
            .body::<ResetConfirmInput>()
            .no_content()
            .errors(&[
                "account_required",
                "weak_password",
                "invalid_password",
                "reset_code_invalid",
                "rate_limited",
                "sms_reset_unavailable",
            ]),
    ]
}

/// `GET /api/v1/my/profile`.
async fn profile<S: Store>(State(app): State<App<S>>, Auth(caller): Auth) -> ApiResult<Json<AskerProfile>> {
    let profile = app.accounts().asker_profile(&caller).await?;
    Ok(Json(profile.ok_or_else(|| ApiError::from(mashangban_app::AppError::unauthenticated()))?))
}

/// `POST /api/v1/my/requests/{no}/rate`.
async fn rate<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<OwnRateInput>,
) -> ApiResult<Json<PublicView>> {
    Ok(Json(app.requests().rate_own(&caller, &no, input).await?.view))
}

/// `POST /api/v1/my/requests/{no}/reopen-request`.
async fn request_reopen<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(no): Path<String>,
    JsonBody(input): JsonBody<OwnReopenInput>,
) -> ApiResult<Json<PublicView>> {
    Ok(Json(app.requests().request_reopen_own(&caller, &no, input).await?.view))
}

/// `POST /api/v1/auth/password-reset`.
async fn send_code<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<ResetCodeInput>,
) -> ApiResult<Json<ResetCodeAnswer>> {
    Ok(Json(app.password_resets().send_code(&caller, input).await?))
}

/// `POST /api/v1/auth/password-reset/confirm`.
async fn confirm<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    JsonBody(input): JsonBody<ResetConfirmInput>,
) -> ApiResult<StatusCode> {
    app.password_resets().confirm(&caller, input).await?;
    Ok(StatusCode::NO_CONTENT)
}
