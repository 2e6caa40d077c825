//! The PostgreSQL backend of the shared store: jobs run on pooled
//! connections, writes in READ COMMITTED transactions, over [`PgConn`].

use std::error::Error;
use std::sync::Arc;

use bytes::BytesMut;
use deadpool_postgres::{GenericClient, Pool};
use futures_util::StreamExt;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use mashangban_store::{JobLock, Machinery, PoolFigures, SchemaState, Signal, StoreError, StoreResult};
use mashangban_store_sql::sql::{BoxFuture, Conn, Database, Dialect, Job, Row, Value};

use crate::cluster::Cluster;
use crate::db::{db_err, pool_err};

/// The PostgreSQL database of a [`mashangban_store_sql::SqlStore`]: a pool
/// of connections and this node's signal listener. Clones share both.
#[derive(Clone)]
pub struct PgDb {
    pub(crate) pool: Pool,
    pub(crate) cluster: Arc<Cluster>,
}

impl PgDb {
    fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) async fn client(&self) -> StoreResult<deadpool_postgres::Client> {
        self.pool.get().await.map_err(pool_err)
    }
}

impl Database for PgDb {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn read<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        let client = self.pool().get().await.map_err(pool_err)?;
        let conn = PgConn { client: &client };
        job(&conn).await
    }

    async fn write<T: Send + 'static>(&self, job: Job<T>) -> StoreResult<T> {
        let mut client = self.pool().get().await.map_err(pool_err)?;
        let tx = client.transaction().await.map_err(db_err)?;
        let result = job(&PgConn { client: &tx }).await;
        match result {
            Ok(value) => {
                tx.commit().await.map_err(db_err)?;
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(%rollback, "could not roll back a refused write");
                }
                Err(error)
            }
        }
    }

    async fn announce(&self, signal: Signal) -> StoreResult<()> {
        self.announce_signal(signal).await
    }

    fn subscribe_signals(&self) -> Option<tokio::sync::broadcast::Receiver<Signal>> {
        self.signals()
    }

    async fn try_lock_job(&self, job: &'static str) -> StoreResult<Option<JobLock>> {
        self.lock_job(job).await
    }

    async fn schema(&self) -> StoreResult<SchemaState> {
        let client = self.client().await?;
        let applied = crate::migrations::applied_version(&client).await?;
        let known = crate::migrations::known_version();
        Ok(SchemaState {
            applied: u32::try_from(applied).map_err(StoreError::backend)?,
            known: u32::try_from(known).map_err(StoreError::backend)?,
        })
    }

    fn machinery(&self) -> Machinery {
        let status = self.pool.status();
        Machinery {
            writer: None,
            pool: PoolFigures {
                max: status.max_size as u64,
                open: status.size as u64,
                idle: status.available as u64,
                waiting: status.waiting as u64,
            },
        }
    }
}

/// A pooled connection or an open transaction on one.
pub struct PgConn<'a, C> {
    client: &'a C,
}

impl<C: GenericClient + Send + Sync> PgConn<'_, C> {
    async fn statement(&self, sql: &str) -> StoreResult<tokio_postgres::Statement> {
        self.client.prepare_cached(sql).await.map_err(|e| statement_err(e, sql))
    }
}

impl<C: GenericClient + Send + Sync> Conn for PgConn<'_, C> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<Vec<Row>>> {
        Box::pin(async move {
            let stmt = self.statement(sql).await?;
            let values: Vec<PgValue<'_>> = args.iter().map(PgValue).collect();
            let found = self.client.query(&stmt, &binds(&values)).await.map_err(|e| statement_err(e, sql))?;
            let columns = column_names(&stmt);
            found.iter().map(|row| row_values(row, &columns)).collect()
        })
    }

    fn execute<'a>(&'a self, sql: &'a str, args: &'a [Value]) -> BoxFuture<'a, StoreResult<u64>> {
        Box::pin(async move {
            let stmt = self.statement(sql).await?;
            let values: Vec<PgValue<'_>> = args.iter().map(PgValue).collect();
            self.client.execute(&stmt, &binds(&values)).await.map_err(|e| statement_err(e, sql))
        })
    }

    fn for_each<'a>(
        &'a self,
        sql: &'a str,
        args: &'a [Value],
        each: &'a mut (dyn FnMut(Row) -> StoreResult<()> + Send),
    ) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move {
            let stmt = self.statement(sql).await?;
            let columns = column_names(&stmt);
            let params = args.iter().map(PgValue);
            let found = self.client.query_raw(&stmt, params).await.map_err(|e| statement_err(e, sql))?;
            let mut found = std::pin::pin!(found);
            while let Some(row) = found.next().await {
                each(row_values(&row.map_err(db_err)?, &columns)?)?;
            }
            Ok(())
        })
    }

    fn batch<'a>(&'a self, sql: &'a str) -> BoxFuture<'a, StoreResult<()>> {
        Box::pin(async move { self.client.batch_execute(sql).await.map_err(|e| statement_err(e, sql)) })
    }
}

/// A driver error with the start of its statement; lost races stay `concurrent_update`.
fn statement_err(e: tokio_postgres::Error, sql: &str) -> StoreError {
    match db_err(e) {
        StoreError::Backend(message) => {
            let head: String = sql.split_whitespace().take(8).collect::<Vec<_>>().join(" ");
            StoreError::Backend(format!("{message} (in: {head} …)"))
        }
        refusal => refusal,
    }
}

fn binds<'a>(values: &'a [PgValue<'a>]) -> Vec<&'a (dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

fn column_names(stmt: &tokio_postgres::Statement) -> Arc<[String]> {
    stmt.columns().iter().map(|c| c.name().to_owned()).collect()
}

fn row_values(row: &tokio_postgres::Row, columns: &Arc<[String]>) -> StoreResult<Row> {
    let values =
        row.columns().iter().enumerate().map(|(i, col)| column_value(row, i, col.type_())).collect::<Result<_, _>>();
    Ok(Row::new(Arc::clone(columns), values.map_err(db_err)?))
}

fn column_value(row: &tokio_postgres::Row, i: usize, ty: &Type) -> Result<Value, tokio_postgres::Error> {
    Ok(match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.into(),
        Type::INT4 => row.try_get::<_, Option<i32>>(i)?.into(),
        Type::INT2 => row.try_get::<_, Option<i16>>(i)?.map(i32::from).into(),
        Type::BOOL => row.try_get::<_, Option<bool>>(i)?.into(),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.into(),
        Type::FLOAT4 => row.try_get::<_, Option<f32>>(i)?.map(f64::from).into(),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.into(),
        Type::VOID => Value::Null,
        // TEXT, VARCHAR, NAME, BPCHAR; anything else fails here with the driver's message.
        _ => row.try_get::<_, Option<String>>(i)?.into(),
    })
}

/// A [`Value`] bound to a PostgreSQL parameter of whatever type the server
/// inferred for it, converting where the meaning is the same (an integer
/// for an INTEGER column, a boolean for a BIGINT flag).
#[derive(Debug)]
struct PgValue<'a>(&'a Value);

type BoxError = Box<dyn Error + Sync + Send>;

impl ToSql for PgValue<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => int_to_sql(*i, ty, out),
            Value::Bool(b) if *ty == Type::BOOL => b.to_sql(ty, out),
            Value::Bool(b) => int_to_sql(i64::from(*b), ty, out),
            #[allow(clippy::cast_possible_truncation)]
            Value::Real(f) if *ty == Type::FLOAT4 => (*f as f32).to_sql(ty, out),
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn int_to_sql(i: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT4 => i32::try_from(i)?.to_sql(ty, out),
        Type::INT2 => i16::try_from(i)?.to_sql(ty, out),
        Type::BOOL => (i != 0).to_sql(ty, out),
        #[allow(clippy::cast_precision_loss)]
        Type::FLOAT8 => (i as f64).to_sql(ty, out),
        _ => i.to_sql(ty, out),
    }
}
