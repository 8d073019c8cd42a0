// The OpenAPI document below is the source; edit it here and keep `MaintenanceTests` (every route documented) passing.

/// The OpenAPI 3.1 document of the agent's HTTP API, served at `GET /v1/openapi.json`.
enum AgentOpenAPI {
    /// The document's JSON text.
    static let document = #"""
        {
          "components": {
            "parameters": {
              "Id": {
                "in": "path",
                "name": "id",
                "required": true,
                "schema": {
                  "type": "string"
                }
              },
              "MemoryNamespace": {
                "description": "default 'default'",
                "in": "query",
                "name": "namespace",
                "required": false,
                "schema": {
                  "$ref": "#/components/schemas/Namespace"
                }
              }
            },
            "responses": {
              "AcceptedObject": {
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object"
                    }
                  }
                },
                "description": "Accepted"
              },
              "Error": {
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                },
                "description": "JSON error body"
              },
              "MemoryOpening": {
                "content": {
                  "application/json": {
                    "schema": {
                      "$ref": "#/components/schemas/Error"
                    }
                  }
                },
                "description": "memory_opening: the store is still opening; memory_degraded: the store is unavailable"
              },
              "OKObject": {
                "content": {
                  "application/json": {
                    "schema": {
                      "type": "object"
                    }
                  }
                },
                "description": "OK"
              }
            },
            "schemas": {
              "ClassifiedLine": {
                "properties": {
                  "category": {
                    "enum": [
                      "CUDA_ERROR",
                      "NETWORK_FAILURE",
                      "DEPENDENCY_MISSING",
                      "RUNTIME_ERROR",
                      "OTHER"
                    ],
                    "type": "string"
                  },
                  "confidence": {
                    "maximum": 1,
                    "minimum": 0,
                    "type": "number"
                  },
                  "entities": {
                    "$ref": "#/components/schemas/ErrorEntities"
                  },
                  "kind": {
                    "type": "string"
                  },
                  "suggestion": {
                    "type": "string"
                  },
                  "template": {
                    "type": "string"
                  }
                },
                "required": [
                  "category",
                  "kind",
                  "confidence",
                  "template",
                  "entities"
                ],
                "type": "object"
              },
              "ClassifyRequest": {
                "properties": {
                  "lines": {
                    "items": {
                      "type": "string"
                    },
                    "maxItems": 10000,
                    "type": "array"
                  }
                },
                "required": [
                  "lines"
                ],
                "type": "object"
              },
              "ClassifyResponse": {
                "properties": {
                  "results": {
                    "items": {
                      "$ref": "#/components/schemas/ClassifiedLine"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "results"
                ],
                "type": "object"
              },
              "Error": {
                "properties": {
                  "error": {
                    "properties": {
                      "code": {
                        "type": "string"
                      },
                      "message": {
                        "type": "string"
                      }
                    },
                    "required": [
                      "code",
                      "message"
                    ],
                    "type": "object"
                  }
                },
                "required": [
                  "error"
                ],
                "type": "object"
              },
              "ErrorEntities": {
                "properties": {
                  "command": {
                    "type": "string"
                  },
                  "exit_status": {
                    "type": "integer"
                  },
                  "header": {
                    "type": "string"
                  },
                  "host": {
                    "type": "string"
                  },
                  "library": {
                    "type": "string"
                  },
                  "module": {
                    "type": "string"
                  },
                  "path": {
                    "type": "string"
                  },
                  "port": {
                    "type": "integer"
                  },
                  "signal": {
                    "type": "string"
                  }
                },
                "type": "object"
              },
              "ErrorEntry": {
                "properties": {
                  "classification": {
                    "$ref": "#/components/schemas/ClassifiedLine"
                  },
                  "count": {
                    "type": "integer"
                  },
                  "first_seen": {
                    "type": "number"
                  },
                  "fixes": {
                    "description": "recorded fixes of the same template or kind, at most 3, best first",
                    "items": {
                      "$ref": "#/components/schemas/ErrorFix"
                    },
                    "maxItems": 3,
                    "type": "array"
                  },
                  "last_seen": {
                    "type": "number"
                  },
                  "line": {
                    "type": "string"
                  },
                  "source": {
                    "type": "string"
                  },
                  "trace": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "source",
                  "line",
                  "trace",
                  "classification",
                  "count",
                  "first_seen",
                  "last_seen"
                ],
                "type": "object"
              },
              "ErrorFix": {
                "properties": {
                  "created_at": {
                    "type": "number"
                  },
                  "fix": {
                    "type": "string"
                  },
                  "match": {
                    "description": "template: recorded for the same template; kind: for another template of the same category and kind",
                    "enum": [
                      "template",
                      "kind"
                    ],
                    "type": "string"
                  },
                  "memory_id": {
                    "type": "string"
                  },
                  "score": {
                    "maximum": 1,
                    "minimum": 0,
                    "type": "number"
                  },
                  "template": {
                    "type": "string"
                  }
                },
                "required": [
                  "memory_id",
                  "fix",
                  "template",
                  "match",
                  "score",
                  "created_at"
                ],
                "type": "object"
              },
              "ErrorFixRequest": {
                "description": "exactly one of template or line",
                "properties": {
                  "fix": {
                    "maxLength": 65536,
                    "minLength": 1,
                    "type": "string"
                  },
                  "line": {
                    "description": "a raw error line; the agent classifies it for its template, category and kind",
                    "maxLength": 65536,
                    "minLength": 1,
                    "type": "string"
                  },
                  "namespace": {
                    "allOf": [
                      {
                        "$ref": "#/components/schemas/Namespace"
                      }
                    ],
                    "default": "errors"
                  },
                  "tags": {
                    "items": {
                      "maxLength": 256,
                      "minLength": 1,
                      "type": "string"
                    },
                    "maxItems": 64,
                    "type": "array"
                  },
                  "template": {
                    "description": "a template as GET /v1/errors shows it",
                    "maxLength": 65536,
                    "minLength": 1,
                    "type": "string"
                  }
                },
                "required": [
                  "fix"
                ],
                "type": "object"
              },
              "ErrorFixResponse": {
                "properties": {
                  "fix": {
                    "$ref": "#/components/schemas/ErrorFix"
                  }
                },
                "required": [
                  "fix"
                ],
                "type": "object"
              },
              "Errors": {
                "properties": {
                  "counts": {
                    "additionalProperties": {
                      "type": "integer"
                    },
                    "type": "object"
                  },
                  "errors": {
                    "items": {
                      "$ref": "#/components/schemas/ErrorEntry"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "errors",
                  "counts"
                ],
                "type": "object"
              },
              "Event": {
                "properties": {
                  "cursor": {
                    "type": "integer"
                  },
                  "kind": {
                    "enum": [
                      "agent_started",
                      "unit_started",
                      "unit_stopped",
                      "job_finished",
                      "time_set",
                      "fs_frozen",
                      "fs_thawed",
                      "soft_reboot",
                      "pack_finished"
                    ],
                    "type": "string"
                  },
                  "message": {
                    "type": "string"
                  },
                  "metadata": {
                    "additionalProperties": {
                      "type": "string"
                    },
                    "type": "object"
                  },
                  "time": {
                    "type": "number"
                  }
                },
                "required": [
                  "cursor",
                  "time",
                  "kind",
                  "message",
                  "metadata"
                ],
                "type": "object"
              },
              "Events": {
                "properties": {
                  "events": {
                    "items": {
                      "$ref": "#/components/schemas/Event"
                    },
                    "type": "array"
                  },
                  "next_cursor": {
                    "type": "integer"
                  }
                },
                "required": [
                  "events",
                  "next_cursor"
                ],
                "type": "object"
              },
              "FreezeRequest": {
                "properties": {
                  "timeout_s": {
                    "maximum": 60,
                    "minimum": 1,
                    "type": "integer"
                  }
                },
                "required": [
                  "timeout_s"
                ],
                "type": "object"
              },
              "FreezeResponse": {
                "properties": {
                  "frozen": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  },
                  "thaw_deadline": {
                    "type": "number"
                  }
                },
                "required": [
                  "frozen",
                  "thaw_deadline"
                ],
                "type": "object"
              },
              "MemoryCreateRequest": {
                "properties": {
                  "content": {
                    "maxLength": 65536,
                    "minLength": 1,
                    "type": "string"
                  },
                  "expires_at": {
                    "type": "number"
                  },
                  "importance": {
                    "$ref": "#/components/schemas/MemoryImportance"
                  },
                  "kind": {
                    "$ref": "#/components/schemas/MemoryKind"
                  },
                  "metadata": {
                    "additionalProperties": {
                      "type": "string"
                    },
                    "type": "object"
                  },
                  "namespace": {
                    "$ref": "#/components/schemas/Namespace"
                  },
                  "tags": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "namespace",
                  "content"
                ],
                "type": "object"
              },
              "MemoryCreateResponse": {
                "properties": {
                  "memory": {
                    "$ref": "#/components/schemas/MemoryRecord"
                  },
                  "outcome": {
                    "enum": [
                      "created",
                      "deduplicated",
                      "merged"
                    ],
                    "type": "string"
                  }
                },
                "required": [
                  "memory",
                  "outcome"
                ],
                "type": "object"
              },
              "MemoryImportResponse": {
                "properties": {
                  "imported": {
                    "type": "integer"
                  },
                  "skipped": {
                    "type": "integer"
                  }
                },
                "required": [
                  "imported",
                  "skipped"
                ],
                "type": "object"
              },
              "MemoryImportance": {
                "enum": [
                  "critical",
                  "high",
                  "medium",
                  "low",
                  "temporary"
                ],
                "type": "string"
              },
              "MemoryKind": {
                "enum": [
                  "core_fact",
                  "conversation",
                  "document",
                  "code_snippet",
                  "tool_result",
                  "user_directive",
                  "system_event",
                  "custom_instruction",
                  "interaction",
                  "dev_session",
                  "error_fix"
                ],
                "type": "string"
              },
              "MemoryRecord": {
                "properties": {
                  "access_count": {
                    "type": "integer"
                  },
                  "content": {
                    "type": "string"
                  },
                  "content_hash": {
                    "type": "string"
                  },
                  "created_at": {
                    "type": "number"
                  },
                  "expires_at": {
                    "type": "number"
                  },
                  "id": {
                    "type": "string"
                  },
                  "importance": {
                    "$ref": "#/components/schemas/MemoryImportance"
                  },
                  "kind": {
                    "$ref": "#/components/schemas/MemoryKind"
                  },
                  "last_accessed_at": {
                    "type": "number"
                  },
                  "metadata": {
                    "additionalProperties": {
                      "type": "string"
                    },
                    "type": "object"
                  },
                  "namespace": {
                    "$ref": "#/components/schemas/Namespace"
                  },
                  "tags": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  },
                  "updated_at": {
                    "type": "number"
                  }
                },
                "required": [
                  "id",
                  "namespace",
                  "kind",
                  "content",
                  "tags",
                  "metadata",
                  "importance",
                  "created_at",
                  "updated_at",
                  "access_count",
                  "content_hash"
                ],
                "type": "object"
              },
              "MemoryRotateKeyResponse": {
                "properties": {
                  "reencrypted": {
                    "type": "integer"
                  }
                },
                "required": [
                  "reencrypted"
                ],
                "type": "object"
              },
              "MemorySearchRequest": {
                "properties": {
                  "kinds": {
                    "items": {
                      "$ref": "#/components/schemas/MemoryKind"
                    },
                    "type": "array"
                  },
                  "limit": {
                    "maximum": 100,
                    "minimum": 1,
                    "type": "integer"
                  },
                  "min_score": {
                    "type": "number"
                  },
                  "namespace": {
                    "$ref": "#/components/schemas/Namespace"
                  },
                  "query": {
                    "type": "string"
                  },
                  "since": {
                    "type": "number"
                  },
                  "tags": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  },
                  "until": {
                    "type": "number"
                  }
                },
                "required": [
                  "namespace",
                  "query"
                ],
                "type": "object"
              },
              "MemorySearchResponse": {
                "properties": {
                  "embedder": {
                    "type": "string"
                  },
                  "hits": {
                    "items": {
                      "properties": {
                        "bm25_rank": {
                          "type": "integer"
                        },
                        "memory": {
                          "$ref": "#/components/schemas/MemoryRecord"
                        },
                        "score": {
                          "type": "number"
                        },
                        "vector_rank": {
                          "type": "integer"
                        },
                        "vector_similarity": {
                          "type": "number"
                        }
                      },
                      "required": [
                        "memory",
                        "score"
                      ],
                      "type": "object"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "hits",
                  "embedder"
                ],
                "type": "object"
              },
              "MemoryStatsResponse": {
                "properties": {
                  "database_bytes": {
                    "type": "integer"
                  },
                  "embedder": {
                    "type": "string"
                  },
                  "importances": {
                    "additionalProperties": {
                      "type": "integer"
                    },
                    "type": "object"
                  },
                  "kinds": {
                    "additionalProperties": {
                      "type": "integer"
                    },
                    "type": "object"
                  },
                  "namespaces": {
                    "additionalProperties": {
                      "type": "integer"
                    },
                    "type": "object"
                  },
                  "total": {
                    "type": "integer"
                  }
                },
                "required": [
                  "total",
                  "namespaces",
                  "kinds",
                  "importances",
                  "database_bytes",
                  "embedder"
                ],
                "type": "object"
              },
              "MemoryTurnRequest": {
                "properties": {
                  "assistant": {
                    "type": "string"
                  },
                  "namespace": {
                    "$ref": "#/components/schemas/Namespace"
                  },
                  "user": {
                    "type": "string"
                  }
                },
                "required": [
                  "namespace",
                  "user",
                  "assistant"
                ],
                "type": "object"
              },
              "MemoryTurnResponse": {
                "properties": {
                  "facts": {
                    "items": {
                      "$ref": "#/components/schemas/MemoryRecord"
                    },
                    "type": "array"
                  },
                  "turn": {
                    "$ref": "#/components/schemas/MemoryRecord"
                  }
                },
                "required": [
                  "turn",
                  "facts"
                ],
                "type": "object"
              },
              "MemoryUpdateRequest": {
                "properties": {
                  "content": {
                    "type": "string"
                  },
                  "expires_at": {
                    "type": "number"
                  },
                  "importance": {
                    "$ref": "#/components/schemas/MemoryImportance"
                  },
                  "kind": {
                    "$ref": "#/components/schemas/MemoryKind"
                  },
                  "metadata": {
                    "additionalProperties": {
                      "type": "string"
                    },
                    "type": "object"
                  },
                  "tags": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  }
                },
                "type": "object"
              },
              "Namespace": {
                "pattern": "^[A-Za-z0-9._:-]{1,64}$",
                "type": "string"
              },
              "PackInstallRequest": {
                "properties": {
                  "cache_url": {
                    "description": "The host's pack cache: signed flat apt repository at <cache_url>/apt (checked against /etc/somnus/pack-cache.gpg), wheels at <cache_url>/wheels/",
                    "type": "string"
                  },
                  "manifest": {
                    "description": "A pack file's JSON object (see the README's pack format)",
                    "type": "object"
                  },
                  "pip_requirements": {
                    "description": "One list per pip step, in order: every wheel of the step as 'name==version --hash=sha256:HEX', installed with pip --require-hashes",
                    "items": {
                      "items": {
                        "type": "string"
                      },
                      "type": "array"
                    },
                    "type": "array"
                  }
                },
                "type": "object"
              },
              "PackJob": {
                "properties": {
                  "already_installed": {
                    "type": "boolean"
                  },
                  "error": {
                    "type": "string"
                  },
                  "failed_step": {
                    "type": "integer"
                  },
                  "failure_output": {
                    "type": "string"
                  },
                  "finished_at": {
                    "type": "number"
                  },
                  "id": {
                    "type": "string"
                  },
                  "log": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  },
                  "log_offset": {
                    "type": "integer"
                  },
                  "next_log_offset": {
                    "type": "integer"
                  },
                  "pack": {
                    "type": "string"
                  },
                  "phase": {
                    "enum": [
                      "steps",
                      "verify",
                      "done"
                    ],
                    "type": "string"
                  },
                  "started_at": {
                    "type": "number"
                  },
                  "state": {
                    "enum": [
                      "running",
                      "succeeded",
                      "failed",
                      "cancelled"
                    ],
                    "type": "string"
                  },
                  "step_count": {
                    "type": "integer"
                  },
                  "step_description": {
                    "type": "string"
                  },
                  "step_index": {
                    "type": "integer"
                  },
                  "verify": {
                    "items": {
                      "properties": {
                        "command": {
                          "type": "string"
                        },
                        "exit_code": {
                          "type": "integer"
                        },
                        "output": {
                          "type": "string"
                        },
                        "passed": {
                          "type": "boolean"
                        },
                        "problem": {
                          "type": "string"
                        }
                      },
                      "required": [
                        "command",
                        "passed",
                        "output"
                      ],
                      "type": "object"
                    },
                    "type": "array"
                  },
                  "version": {
                    "type": "string"
                  }
                },
                "required": [
                  "id",
                  "pack",
                  "version",
                  "state",
                  "phase",
                  "step_index",
                  "step_count",
                  "step_description",
                  "log",
                  "log_offset",
                  "next_log_offset",
                  "verify",
                  "already_installed",
                  "started_at"
                ],
                "type": "object"
              },
              "Packs": {
                "properties": {
                  "catalog_error": {
                    "type": "string"
                  },
                  "installed": {
                    "items": {
                      "properties": {
                        "error": {
                          "type": "string"
                        },
                        "failed_step": {
                          "type": "integer"
                        },
                        "installed_at": {
                          "type": "number"
                        },
                        "name": {
                          "type": "string"
                        },
                        "output_tail": {
                          "type": "string"
                        },
                        "result": {
                          "enum": [
                            "succeeded",
                            "failed",
                            "cancelled"
                          ],
                          "type": "string"
                        },
                        "version": {
                          "type": "string"
                        }
                      },
                      "required": [
                        "name",
                        "version",
                        "installed_at",
                        "result"
                      ],
                      "type": "object"
                    },
                    "type": "array"
                  },
                  "known": {
                    "items": {
                      "properties": {
                        "description": {
                          "type": "string"
                        },
                        "disk_estimate_mb": {
                          "type": "integer"
                        },
                        "name": {
                          "type": "string"
                        },
                        "requires": {
                          "items": {
                            "type": "string"
                          },
                          "type": "array"
                        },
                        "version": {
                          "type": "string"
                        }
                      },
                      "required": [
                        "name",
                        "version",
                        "description",
                        "requires",
                        "disk_estimate_mb"
                      ],
                      "type": "object"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "known",
                  "installed"
                ],
                "type": "object"
              },
              "SoftRebootRequest": {
                "properties": {
                  "units": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  }
                },
                "type": "object"
              },
              "ConfigReloadResponse": {
                "properties": {
                  "changed": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  },
                  "restart_required": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "changed",
                  "restart_required"
                ],
                "type": "object"
              },
              "SoftRebootResponse": {
                "properties": {
                  "units": {
                    "items": {
                      "properties": {
                        "active": {
                          "type": "boolean"
                        },
                        "active_state": {
                          "type": "string"
                        },
                        "error": {
                          "type": "string"
                        },
                        "name": {
                          "type": "string"
                        }
                      },
                      "required": [
                        "name",
                        "active_state",
                        "active"
                      ],
                      "type": "object"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "units"
                ],
                "type": "object"
              },
              "ThawResponse": {
                "properties": {
                  "thawed": {
                    "items": {
                      "type": "string"
                    },
                    "type": "array"
                  }
                },
                "required": [
                  "thawed"
                ],
                "type": "object"
              },
              "TimeSyncRequest": {
                "properties": {
                  "unix_ns": {
                    "type": "integer"
                  }
                },
                "required": [
                  "unix_ns"
                ],
                "type": "object"
              },
              "TimeSyncResponse": {
                "properties": {
                  "corrected": {
                    "type": "boolean"
                  },
                  "drift_ms": {
                    "type": "number"
                  }
                },
                "required": [
                  "drift_ms",
                  "corrected"
                ],
                "type": "object"
              }
            },
            "securitySchemes": {
              "bearer": {
                "scheme": "bearer",
                "type": "http"
              }
            }
          },
          "info": {
            "description": "HTTP API of somnus-agent. TCP needs Authorization: Bearer; the unix socket needs none.",
            "title": "Somnus guest agent",
            "version": "0.1.0"
          },
          "openapi": "3.1.0",
          "paths": {
            "/metrics": {
              "get": {
                "responses": {
                  "200": {
                    "content": {
                      "text/plain": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Prometheus text metrics"
              }
            },
            "/v1/classify": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/ClassifyRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ClassifyResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/Error"
                  },
                  "413": {
                    "$ref": "#/components/responses/Error"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Classify up to 10000 log lines; one result per line, in order"
              }
            },
            "/v1/config/reload": {
              "post": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ConfigReloadResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Read the configuration file again (monitored units, log files, journal, interval)"
              }
            },
            "/v1/errors": {
              "get": {
                "parameters": [
                  {
                    "description": "only errors last seen at or after this ISO 8601 time or Unix seconds",
                    "in": "query",
                    "name": "since",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "CUDA_ERROR, NETWORK_FAILURE, DEPENDENCY_MISSING, RUNTIME_ERROR or OTHER",
                    "in": "query",
                    "name": "category",
                    "required": false,
                    "schema": {
                      "type": "string"
                    }
                  },
                  {
                    "description": "1 to 1000, default 50",
                    "in": "query",
                    "name": "limit",
                    "required": false,
                    "schema": {
                      "type": "integer"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Errors"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "400": {
                    "$ref": "#/components/responses/Error"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Recent classified errors from the guest's logs, newest first, with their recorded fixes and counts per category"
              }
            },
            "/v1/errors/fixes": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/ErrorFixRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "201": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ErrorFixResponse"
                        }
                      }
                    },
                    "description": "Recorded"
                  },
                  "400": {
                    "$ref": "#/components/responses/Error"
                  },
                  "409": {
                    "$ref": "#/components/responses/Error"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Record the fix of an error (an error_fix memory linked to its template); the next occurrence of the template or kind lists it"
              }
            },
            "/v1/events": {
              "get": {
                "parameters": [
                  {
                    "description": "cursor, default 0",
                    "in": "query",
                    "name": "after",
                    "required": false,
                    "schema": {
                      "type": "integer"
                    }
                  },
                  {
                    "description": "1 to 1000, default 100",
                    "in": "query",
                    "name": "limit",
                    "required": false,
                    "schema": {
                      "type": "integer"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Events"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Recent agent events after a cursor"
              }
            },
            "/v1/exec": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "type": "object"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "202": {
                    "$ref": "#/components/responses/AcceptedObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Start an exec job; optional user (name or uid) for the host and root; a non-root unix-socket peer runs as itself"
              }
            },
            "/v1/exec/{id}": {
              "delete": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  }
                ],
                "responses": {
                  "202": {
                    "$ref": "#/components/responses/AcceptedObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Cancel an exec job"
              },
              "get": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/OKObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "One exec job"
              }
            },
            "/v1/exec/{id}/output": {
              "get": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  },
                  {
                    "description": "byte offset",
                    "in": "query",
                    "name": "offset",
                    "required": false,
                    "schema": {
                      "type": "integer"
                    }
                  },
                  {
                    "description": "long-poll up to 60000 ms",
                    "in": "query",
                    "name": "wait_ms",
                    "required": false,
                    "schema": {
                      "type": "integer"
                    }
                  },
                  {
                    "in": "query",
                    "name": "stream",
                    "required": false,
                    "schema": {
                      "enum": [
                        "combined",
                        "stdout",
                        "stderr"
                      ],
                      "type": "string"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/OKObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Output of an exec job from an offset, optionally long-polling"
              }
            },
            "/v1/fs/freeze": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/FreezeRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/FreezeResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "409": {
                    "$ref": "#/components/responses/Error"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Freeze writable block filesystems; thawed automatically after timeout_s"
              }
            },
            "/v1/fs/thaw": {
              "post": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/ThawResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Thaw frozen filesystems (empty list when none)"
              }
            },
            "/v1/health/live": {
              "get": {
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/OKObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "security": [],
                "summary": "Liveness; the only route without a token"
              }
            },
            "/v1/health/ready": {
              "get": {
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/OKObject"
                  },
                  "503": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object"
                        }
                      }
                    },
                    "description": "Not ready"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Readiness: 200 when every check passes, 503 otherwise"
              }
            },
            "/v1/memories": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/MemoryCreateRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryCreateResponse"
                        }
                      }
                    },
                    "description": "Deduplicated or merged"
                  },
                  "201": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryCreateResponse"
                        }
                      }
                    },
                    "description": "Created"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Store a memory (201 created; 200 deduplicated or merged)"
              }
            },
            "/v1/memories/export": {
              "get": {
                "parameters": [
                  {
                    "description": "only this namespace",
                    "in": "query",
                    "name": "namespace",
                    "required": false,
                    "schema": {
                      "$ref": "#/components/schemas/Namespace"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/x-ndjson": {
                        "schema": {
                          "type": "string"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "All memories (of one namespace) as JSON Lines, one record per line"
              }
            },
            "/v1/memories/import": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/x-ndjson": {
                      "schema": {
                        "type": "string"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryImportResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Store JSON Lines records not yet present"
              }
            },
            "/v1/memories/rotate-key": {
              "post": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryRotateKeyResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Make a new key and re-encrypt every memory"
              }
            },
            "/v1/memories/search": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/MemorySearchRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemorySearchResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Hybrid BM25 + vector search with reasons"
              }
            },
            "/v1/memories/stats": {
              "get": {
                "parameters": [
                  {
                    "description": "only this namespace",
                    "in": "query",
                    "name": "namespace",
                    "required": false,
                    "schema": {
                      "$ref": "#/components/schemas/Namespace"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryStatsResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Counts by namespace, kind and importance"
              }
            },
            "/v1/memories/turns": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/MemoryTurnRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "201": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryTurnResponse"
                        }
                      }
                    },
                    "description": "Created"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Store a user/assistant turn and the facts it reveals"
              }
            },
            "/v1/memories/{id}": {
              "delete": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  },
                  {
                    "$ref": "#/components/parameters/MemoryNamespace"
                  }
                ],
                "responses": {
                  "204": {
                    "description": "Deleted"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Delete one memory"
              },
              "get": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  },
                  {
                    "$ref": "#/components/parameters/MemoryNamespace"
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryRecord"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "One memory"
              },
              "patch": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  },
                  {
                    "$ref": "#/components/parameters/MemoryNamespace"
                  }
                ],
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/MemoryUpdateRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/MemoryRecord"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "503": {
                    "$ref": "#/components/responses/MemoryOpening"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Change the given fields of one memory"
              }
            },
            "/v1/openapi.json": {
              "get": {
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/OKObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "This document"
              }
            },
            "/v1/packs": {
              "get": {
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/Packs"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Known packs of the agent's catalog and the latest install of each pack"
              }
            },
            "/v1/packs/jobs/{id}": {
              "delete": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  }
                ],
                "responses": {
                  "202": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PackJob"
                        }
                      }
                    },
                    "description": "Accepted"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Cancel a pack job"
              },
              "get": {
                "parameters": [
                  {
                    "$ref": "#/components/parameters/Id"
                  },
                  {
                    "in": "query",
                    "name": "offset",
                    "required": false,
                    "schema": {
                      "minimum": 0,
                      "type": "integer"
                    }
                  }
                ],
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/PackJob"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "A pack job's state, progress, verify results and log lines from offset"
              }
            },
            "/v1/packs/{name}/install": {
              "post": {
                "parameters": [
                  {
                    "in": "path",
                    "name": "name",
                    "required": true,
                    "schema": {
                      "pattern": "^[a-z0-9_]+$",
                      "type": "string"
                    }
                  }
                ],
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/PackInstallRequest"
                      }
                    }
                  },
                  "required": false
                },
                "responses": {
                  "202": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "properties": {
                            "id": {
                              "type": "string"
                            }
                          },
                          "required": [
                            "id"
                          ],
                          "type": "object"
                        }
                      }
                    },
                    "description": "Accepted"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Start installing a pack (the request's manifest, else the catalog's); one install at a time"
              }
            },
            "/v1/soft-reboot": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/SoftRebootRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/SoftRebootResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Restart units through systemd and report whether each came back active"
              }
            },
            "/v1/stats": {
              "get": {
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/OKObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Resource usage and monitored units"
              }
            },
            "/v1/status": {
              "get": {
                "responses": {
                  "200": {
                    "$ref": "#/components/responses/OKObject"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Versions, binary sha256, boot id, host name, features"
              }
            },
            "/v1/time": {
              "post": {
                "requestBody": {
                  "content": {
                    "application/json": {
                      "schema": {
                        "$ref": "#/components/schemas/TimeSyncRequest"
                      }
                    }
                  },
                  "required": true
                },
                "responses": {
                  "200": {
                    "content": {
                      "application/json": {
                        "schema": {
                          "$ref": "#/components/schemas/TimeSyncResponse"
                        }
                      }
                    },
                    "description": "OK"
                  },
                  "default": {
                    "$ref": "#/components/responses/Error"
                  }
                },
                "summary": "Push the host's clock; set the guest's clock when drift exceeds 100 ms"
              }
            }
          },
          "security": [
            {
              "bearer": []
            }
          ]
        }
        """#
}
