//! 指挥部 (`/command`): the centres, a centre's dashboard (targets with
//! progress bars and forecasts, town ranking, overdue tasks, the task list,
//! the forms of the office: set a target, assign a task), a task's page with
//! its history and the report, done, urge and supervise forms, and the Excel
//! downloads. Printable: the print stylesheet drops the menu and the forms.

use std::sync::Arc;

use askama::Template;
use axum::Extension;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

use mashangban_app::command::{
    CentreView, Dashboard, DoneBody, NoteBody, TargetBody, TargetView, TaskBody, TaskDetail, TaskView,
};
use mashangban_app::{App, Caller};
use mashangban_domain::access::Permission;
use mashangban_domain::command::{Forecast, TaskState};
use mashangban_domain::ledger::LedgerType;
use mashangban_domain::org::UnitKind;
use mashangban_store::Store;

use super::{Choice, Layout, PageError, PageResult, render, short_time, shown};
use crate::api::command::task_id;
use crate::auth::Auth;
use crate::extract::{Form, PagePath as Path};
use crate::routes::{Menu, MenuKind, Route};

pub fn routes<S: Store>() -> Vec<Route<S>> {
    let (read, work) = (Permission::ReadCommand, Permission::WorkCommand);
    vec![
        Route::get("/command", centres::<S>).permission(read).nav(MenuKind::Main, 44, "指挥部"),
        Route::get("/command/{code}", dashboard::<S>).permission(read),
        Route::get("/command/{code}/export", export::<S>).permission(read),
        Route::get("/command/{code}/ranking/export", ranking_export::<S>).permission(read),
        Route::post("/command/{code}/targets", create_target::<S>).permission(work).form(),
        Route::post("/command/{code}/tasks", create_task::<S>).permission(work).form(),
        Route::get("/command/tasks/{id}", task::<S>).permission(read),
        // report, done, urge, supervise
        Route::post("/command/tasks/{id}/{act}", act_on_task::<S>).permission(work).form(),
    ]
}

// ---- list -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "command_centres.html")]
struct CentresPage {
    layout: Layout,
    centres: Vec<CentreView>,
}

/// `GET /command`.
async fn centres<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
) -> PageResult {
    let centres = app.command().centres(&caller).await?;
    Ok(render(StatusCode::OK, &CentresPage { layout: Layout::staff("指挥部", &caller.actor, &menu), centres }))
}

// ---- dashboard --------------------------------------------------------------------------

/// A stage of one of the centre's ledgers, for the target form.
struct StageOption {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "command_centre.html")]
struct CentrePage {
    layout: Layout,
    d: Dashboard,
    message: Option<String>,
    /// `type:stage` of every stage of the centre's ledgers.
    stages: Vec<StageOption>,
    towns: Vec<Choice>,
    units: Vec<Choice>,
    target: TargetFields,
    task: TaskFields,
    may_work: bool,
}

impl CentrePage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn fmt1(&self, v: &Option<f64>) -> String {
        v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"))
    }

    fn forecast_class(&self, t: &TargetView) -> &'static str {
        match t.forecast {
            Forecast::Met => "met",
            Forecast::OnTrack { .. } => "on_track",
            Forecast::Late { .. } => "late",
            Forecast::Stalled => "stalled",
            Forecast::Missed => "missed",
        }
    }
}

/// The target form as typed.
#[derive(Default)]
struct TargetFields {
    name: String,
    stages: Vec<String>,
    choice: String,
    town: String,
    goal: String,
    due_on: String,
}

impl TargetFields {
    fn read(pairs: Vec<(String, String)>) -> Self {
        let mut f = Self::default();
        for (name, value) in pairs {
            match name.as_str() {
                "name" => f.name = value,
                "stage" => f.stages.push(value),
                "choice" => f.choice = value,
                "town" => f.town = value,
                "goal" => f.goal = value,
                "due_on" => f.due_on = value,
                _ => {}
            }
        }
        f
    }

    /// The body: the stages must be of one ledger type (`type:stage`); the choice is `field=code`.
    fn body(&self) -> Result<TargetBody, String> {
        let mut ledger_type: Option<&str> = None;
        let mut stages = Vec::new();
        for s in &self.stages {
            let Some((ty, stage)) = s.split_once(':') else { continue };
            if ledger_type.is_some_and(|t| t != ty) {
                return Err("计入目标的阶段须属于同一本台账".to_owned());
            }
            ledger_type = Some(ty);
            stages.push(stage.to_owned());
        }
        let Some(ledger_type) = ledger_type else {
            return Err("请至少选择一个计入目标的阶段".to_owned());
        };
        let goal = self.goal.trim().parse::<u64>().map_err(|_| "目标数请填写正整数".to_owned())?;
        let (choice_field, choice_code) = match self.choice.trim().split_once('=') {
            Some((f, c)) => (Some(f.trim().to_owned()), Some(c.trim().to_owned())),
            None => (None, None),
        };
        Ok(TargetBody {
            version: None,
            name: self.name.clone(),
            ledger_type: ledger_type.to_owned(),
            stages,
            choice_field,
            choice_code,
            town: Some(self.town.clone()).filter(|t| !t.trim().is_empty()),
            goal,
            due_on: self.due_on.clone(),
        })
    }
}

/// The task form as typed.
#[derive(Default, serde::Deserialize)]
struct TaskFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    working_days: String,
    #[serde(default)]
    ledger_ref: String,
}

impl TaskFields {
    fn body(&self) -> Result<TaskBody, String> {
        let working_days =
            self.working_days.trim().parse::<u32>().map_err(|_| "办理时限请填写工作日天数".to_owned())?;
        Ok(TaskBody {
            title: self.title.clone(),
            description: Some(self.description.clone()),
            unit: self.unit.clone(),
            working_days,
            ledger_ref: Some(self.ledger_ref.clone()),
        })
    }
}

/// The office's two forms as typed.
#[derive(Default)]
struct Typed {
    target: TargetFields,
    task: TaskFields,
}

async fn centre_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    code: &str,
    typed: Typed,
    status: StatusCode,
    message: Option<String>,
) -> PageResult {
    let Typed { target, task } = typed;
    let d = app.command().dashboard(caller, code).await?;
    let mut stages = Vec::new();
    for ty in &d.centre.ledger_types {
        let Some(record) = app.store().ledger_type(&ty.code).await.map_err(mashangban_app::AppError::from)? else {
            continue;
        };
        let Ok(parsed) = LedgerType::from_toml(&record.definition) else { continue };
        for s in parsed.stages() {
            stages.push(StageOption {
                value: format!("{}:{}", ty.code, s.code),
                label: format!("{}：{}", ty.name, s.name),
            });
        }
    }
    let org = app.caches().org();
    let towns =
        d.centre.towns.iter().map(|t| Choice::new(t.code.clone(), t.name.clone(), t.code == target.town)).collect();
    let mut units: Vec<Choice> = org
        .units()
        .filter(|u| u.active && matches!(u.kind, UnitKind::Town | UnitKind::Department))
        .map(|u| Choice::new(u.code.clone(), u.display_name().to_owned(), u.code == task.unit))
        .collect();
    units.sort_by(|a, b| a.value.cmp(&b.value));
    let page = CentrePage {
        layout: Layout::staff(d.centre.name.clone(), &caller.actor, menu),
        may_work: caller.may(Permission::WorkCommand) && d.centre.is_office,
        d,
        message,
        stages,
        towns,
        units,
        target,
        task,
    };
    Ok(render(status, &page))
}

/// `GET /command/{code}`.
async fn dashboard<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
) -> PageResult {
    centre_page(&app, &caller, &menu, &code, Typed::default(), StatusCode::OK, None).await
}

/// Why a form was not taken: a message of the form itself, or the service's refusal.
enum Refused {
    Form(String),
    App(mashangban_app::AppError),
}

impl Refused {
    fn shown(self) -> Result<(StatusCode, String), super::PageError> {
        match self {
            Self::Form(m) => Ok((StatusCode::UNPROCESSABLE_ENTITY, m)),
            Self::App(e) => shown(e),
        }
    }
}

/// `POST /command/{code}/targets`: as the API; back to the dashboard, or the form with the refusal.
async fn create_target<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> PageResult {
    let fields = TargetFields::read(pairs);
    let result = match fields.body() {
        Ok(body) => app.command().create_target(&caller, &code, body).await.map(drop).map_err(Refused::App),
        Err(m) => Err(Refused::Form(m)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/command/{code}#targets")).into_response()),
        Err(e) => {
            let (status, message) = e.shown()?;
            let typed = Typed { target: fields, task: TaskFields::default() };
            centre_page(&app, &caller, &menu, &code, typed, status, Some(message)).await
        }
    }
}

/// `POST /command/{code}/tasks`: as the API; back to the dashboard, or the form with the refusal.
async fn create_task<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(code): Path<String>,
    Form(fields): Form<TaskFields>,
) -> PageResult {
    let result = match fields.body() {
        Ok(body) => app.command().create_task(&caller, &code, body).await.map(|t| t.id).map_err(Refused::App),
        Err(m) => Err(Refused::Form(m)),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/command/tasks/{id}")).into_response()),
        Err(e) => {
            let (status, message) = e.shown()?;
            let typed = Typed { target: TargetFields::default(), task: fields };
            centre_page(&app, &caller, &menu, &code, typed, status, Some(message)).await
        }
    }
}

/// `GET /command/{code}/export`: the dashboard as an .xlsx download.
async fn export<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Path(code): Path<String>,
) -> PageResult<Response> {
    let (name, bytes) = app.command().dashboard_xlsx(&caller, &code).await?;
    Ok(crate::download::xlsx(bytes, &name, "command-dashboard.xlsx"))
}

/// `GET /command/{code}/ranking/export`: the town ranking as an .xlsx download.
async fn ranking_export<S: Store>(
    State(app): State<App<S>>,
    Auth(_caller): Auth,
    Path(code): Path<String>,
) -> PageResult<Response> {
    let (name, bytes) = app.command().ranking_xlsx(&code).await?;
    Ok(crate::download::xlsx(bytes, &name, "command-ranking.xlsx"))
}

// ---- one task ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "command_task.html")]
struct TaskPage {
    layout: Layout,
    detail: TaskDetail,
    centre: CentreView,
    message: Option<String>,
    note: String,
}

impl TaskPage {
    fn time(&self, rfc3339: &str) -> String {
        short_time(rfc3339)
    }

    fn task(&self) -> &TaskView {
        &self.detail.task
    }
}

async fn task_page<S: Store>(
    app: &App<S>,
    caller: &Caller,
    menu: &Menu,
    id: i64,
    status: StatusCode,
    message: Option<String>,
    note: String,
) -> PageResult {
    let detail = app.command().task(caller, id).await?;
    let centre = app.command().centre(caller, &detail.task.centre_code).await?;
    let page = TaskPage {
        layout: Layout::staff(format!("任务：{}", detail.task.title), &caller.actor, menu),
        detail,
        centre,
        message,
        note,
    };
    Ok(render(status, &page))
}

/// `GET /command/tasks/{id}`.
async fn task<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path(id): Path<String>,
) -> PageResult {
    task_page(&app, &caller, &menu, task_id(&id)?, StatusCode::OK, None, String::new()).await
}

#[derive(serde::Deserialize)]
struct NoteForm {
    #[serde(default)]
    note: String,
}

#[derive(Clone, Copy)]
enum Act {
    Report,
    Done,
    Urge,
    Supervise,
}

async fn act<S: Store>(app: &App<S>, caller: &Caller, menu: &Menu, id: &str, act: Act, note: String) -> PageResult {
    let id = task_id(id)?;
    let service = app.command();
    let body = NoteBody { note: note.clone() };
    let result = match act {
        Act::Report => service.report(caller, id, body).await,
        Act::Done => service.done(caller, id, DoneBody { note: Some(note.clone()) }).await,
        Act::Urge => service.urge(caller, id, body).await,
        Act::Supervise => service.supervise(caller, id, body).await,
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/command/tasks/{id}")).into_response()),
        Err(e) => {
            let (status, message) = shown(e)?;
            task_page(app, caller, menu, id, status, Some(message), note).await
        }
    }
}

/// `POST /command/tasks/{id}/{act}`: report (汇报), done (完成), urge (催办) or supervise (督办).
async fn act_on_task<S: Store>(
    State(app): State<App<S>>,
    Auth(caller): Auth,
    Extension(menu): Extension<Arc<Menu>>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<NoteForm>,
) -> PageResult {
    let action = match action.as_str() {
        "report" => Act::Report,
        "done" => Act::Done,
        "urge" => Act::Urge,
        "supervise" => Act::Supervise,
        _ => return Err(PageError::Status(StatusCode::NOT_FOUND, "没有这项操作".into())),
    };
    act(&app, &caller, &menu, &id, action, form.note).await
}
