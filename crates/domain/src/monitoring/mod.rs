//! Online monitoring (在线监测): monitoring points (监测点位) with their device,
//! standard, grade and permit limits, the readings they send, and the check
//! of a reading against the point's limits. Pure: the HJ 212 receiver, the
//! storage and the pages stand on it.

mod outage;
mod park;
mod point;
mod reading;

pub use outage::{OutageKind, outage_due, valid_flag};
pub use park::{Facility, MAX_FACILITIES, MAX_PARK_POINTS, ParkDraft, ParkInput, park_not_found};
pub use point::{
    DEFAULT_OFFLINE_AFTER_MINUTES, MAX_PARAMETERS, MAX_PERMIT_LIMITS, MeasuredParameter, OFFLINE_AFTER_MINUTES,
    PermitLimit, PointDraft, PointInput, PointKind, check_device_password, check_mn, device_password_hash,
    point_not_found, standard_named,
};
pub use reading::{
    AlertState, Bucket, MAX_READINGS_PER_BATCH, NewReading, ReadingKind, alert_not_found, check_reading,
    check_reading_time, hour_key, whole_hours,
};
